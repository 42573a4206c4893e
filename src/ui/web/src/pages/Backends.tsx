import { ErrorBox } from '../components/ErrorBox.js';
import { time } from '../format.js';
import { useApi, useNow, useTitle } from '../hooks.js';
import type { Backend } from '../types.js';

// The build backends (podman engines) the server sends builds to, from GET /backends:
// arch, labels, load against the limit, health. A server without backends answers 404.

export function BackendsPage() {
  useTitle('Backends');
  const now = useNow(5000);
  const [r] = useApi<{ backends: Backend[] }>('/api/v1/backends', [Math.floor(now / 5000)]);
  return (
    <section>
      <h1>Backends</h1>
      {r.state === 'loading' ? <p>Loading…</p> : null}
      {r.state === 'error' && r.error.status === 404 ? (
        <p role="status">This server has no backends configured: its builds run on its own engine.</p>
      ) : r.state === 'error' ? (
        <ErrorBox error={r.error} what="the backends" />
      ) : null}
      {r.state === 'ok' && r.value.backends.length === 0 ? <p role="status">This server has no backends configured.</p> : null}
      {r.state === 'ok' && r.value.backends.length ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">URL</th>
                <th scope="col">Arch</th>
                <th scope="col">Labels</th>
                <th scope="col">Load</th>
                <th scope="col">Health</th>
              </tr>
            </thead>
            <tbody>
              {r.value.backends.map((b) => {
                const labels = Array.isArray(b.labels) ? b.labels : Object.entries(b.labels ?? {}).map(([k, v]) => `${k}=${v}`);
                const skipped = b.skippedUntil ? new Date(b.skippedUntil).getTime() : undefined;
                return (
                  <tr key={b.name}>
                    <td>{b.name}</td>
                    <td>
                      <code>{b.url}</code>
                    </td>
                    <td>{b.arch}</td>
                    <td>{labels.join(', ') || '—'}</td>
                    <td className="num">
                      <meter min={0} max={b.maxJobs} value={b.active} aria-label={`${b.active} of ${b.maxJobs} builds`} /> {b.active}/{b.maxJobs}
                    </td>
                    <td>
                      <span className={`badge ${b.healthy ? 's-built' : 's-failed'}`}>{b.healthy ? 'healthy' : 'unhealthy'}</span>
                      {b.failures ? ` ${b.failures} failure${b.failures === 1 ? '' : 's'}` : ''}
                      {skipped && skipped > now ? ` · skipped until ${time(skipped)}` : ''}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
