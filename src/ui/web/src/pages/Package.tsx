import { ErrorBox } from '../components/ErrorBox.js';
import { bytes, duration, shortDigest, time } from '../format.js';
import { useApi, useTitle } from '../hooks.js';
import type { HistoryEntry } from '../types.js';

// A package's builds over time, newest first, each with what changed since the build
// before it (of the same arch): the server compares the records' key inputs.

export function PackagePage(props: { name: string }) {
  useTitle(props.name);
  const [r] = useApi<{ package: string; total: number; builds: HistoryEntry[] }>(`/api/v1/packages/${encodeURIComponent(props.name)}/builds`);
  return (
    <section>
      <h1>
        Builds of <code>{props.name}</code>
      </h1>
      {r.state === 'loading' ? <p>Loading…</p> : null}
      {r.state === 'error' ? <ErrorBox error={r.error} what={`the builds of ${props.name}`} /> : null}
      {r.state === 'ok' && r.value.builds.length === 0 ? <p role="status">This server's store has no build of {r.value.package}.</p> : null}
      {r.state === 'ok' && r.value.builds.length ? (
        <>
          <p className="muted">
            {r.value.total} build{r.value.total === 1 ? '' : 's'}
            {r.value.total > r.value.builds.length ? ` (the newest ${r.value.builds.length} shown)` : ''}
          </p>
          <ol className="history">
            {r.value.builds.map((b) => (
              <li key={b.key} data-key={b.key}>
                <h2>
                  {b.version}-{b.release} <span className="muted">{b.arch}</span> <time dateTime={b.finishedAt}>{time(b.finishedAt)}</time>
                  {b.broken ? <span className="badge s-failed">broken</span> : null}
                </h2>
                <p>
                  key <code className="digest">{shortDigest(b.key, 16)}</code> · {duration(b.durationMs)} on {b.runner}
                  {b.provenance ? (
                    <>
                      {' · '}
                      <a href={`/api/v1/store/blobs/${b.provenance}?type=json`}>provenance</a>
                    </>
                  ) : null}
                  {b.log ? (
                    <>
                      {' · '}
                      <a href={`/api/v1/store/blobs/${b.log}?type=text`}>log</a>
                    </>
                  ) : null}
                </p>
                <p className="changed">
                  {b.previous ? (
                    <>
                      <strong>Changed:</strong> {b.changed.join('; ')}
                    </>
                  ) : (
                    <strong>First build for {b.arch}</strong>
                  )}
                </p>
                {b.outputs.length ? (
                  <ul className="outputs">
                    {b.outputs.map((o) => (
                      <li key={o.digest + o.name}>
                        {o.name} <code className="digest">{shortDigest(o.digest, 16)}</code> {bytes(o.size)}
                      </li>
                    ))}
                  </ul>
                ) : null}
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </section>
  );
}
