import { useState, type FormEvent } from 'react';
import { ErrorBox } from '../components/ErrorBox.js';
import { bytes, time } from '../format.js';
import { useApi, useTitle } from '../hooks.js';
import { navigate } from '../router.js';
import type { StoreSummary } from '../types.js';

// The server's content store: size, blobs, records by kind, the registry remote; and the
// way to a package's history.

export function StorePage() {
  useTitle('Store');
  const [r] = useApi<StoreSummary>('/api/v1/store');
  const [name, setName] = useState('');
  const go = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) navigate(`/packages/${encodeURIComponent(name.trim())}`);
  };
  return (
    <section>
      <h1>Store</h1>
      {r.state === 'loading' ? <p>Loading…</p> : null}
      {r.state === 'error' ? <ErrorBox error={r.error} what="the store" /> : null}
      {r.state === 'ok' ? (
        <dl className="facts">
          <dt>Path</dt>
          <dd>
            <code>{r.value.path}</code>
          </dd>
          <dt>Size</dt>
          <dd data-testid="store-size">
            {r.value.blobs} blobs, {bytes(r.value.bytes)} <span className="muted">(counted {time(r.value.countedAt)})</span>
          </dd>
          <dt>Records</dt>
          <dd>
            {Object.entries(r.value.records)
              .map(([k, n]) => `${n} ${k}`)
              .join(', ')}
            {r.value.brokenRecords ? <span className="error-text"> · {r.value.brokenRecords} broken</span> : null}
          </dd>
          <dt>Remote</dt>
          <dd>{r.value.remote ? <code>{r.value.remote.url}</code> : 'none configured'}</dd>
        </dl>
      ) : null}
      <form onSubmit={go} className="filters" aria-label="A package's history">
        <label className="field">
          Package
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder="pyyaml" />
        </label>
        <div className="buttons">
          <button type="submit">Show its builds</button>
        </div>
      </form>
    </section>
  );
}
