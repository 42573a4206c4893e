import { useEffect, useRef } from 'react';
import { bytes, duration, time } from '../format.js';
import { useApi } from '../hooks.js';
import { Link } from '../router.js';
import type { BuildRecord, Job } from '../types.js';
import { StateBadge } from './State.js';

// A selected package of a job: its state, cache key, timings, outputs with digests, its
// build record with provenance and log, its test, and its history.

export function PackageDetail(props: { job: Job; name: string; onClose: () => void }) {
  const s = props.job.packageStates[props.name]!;
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [props.name]);
  const ended = s.state === 'cached' || s.state === 'built';
  return (
    <section className="panel detail" aria-labelledby="detail-h">
      <div className="detail-head">
        <h2 id="detail-h" ref={heading} tabIndex={-1}>
          {props.name} <StateBadge state={s.state} />
        </h2>
        <button type="button" onClick={props.onClose} aria-keyshortcuts="Escape" title="Close (Escape)">
          Close
        </button>
      </div>
      <dl className="facts">
        {s.key ? (
          <>
            <dt>Cache key</dt>
            <dd>
              <code className="digest">{s.key}</code>
            </dd>
          </>
        ) : null}
        {s.startedAt !== undefined ? (
          <>
            <dt>Timings</dt>
            <dd>
              started {time(s.startedAt)}
              {s.endedAt !== undefined ? `, took ${duration(s.endedAt - s.startedAt)}` : ''}
            </dd>
          </>
        ) : null}
        {s.test ? (
          <>
            <dt>Test</dt>
            <dd>
              {s.test.state}
              {s.test.reused ? ' (reused)' : ''}
            </dd>
          </>
        ) : null}
        {s.error ? (
          <>
            <dt>Error</dt>
            <dd className="error-text">
              {s.error.code}: {s.error.message}
            </dd>
          </>
        ) : null}
        <dt>History</dt>
        <dd>
          <Link to={`/packages/${encodeURIComponent(props.name)}`}>every build of {props.name}</Link>
        </dd>
      </dl>
      {s.outputs?.length ? (
        <div className="table-wrap">
          <table>
            <caption>Outputs</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Digest</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {s.outputs.map((o) => (
                <tr key={o.name + o.digest}>
                  <td>{o.name}</td>
                  <td>
                    <a href={`/api/v1/store/blobs/${o.digest}`} download={o.name.split('/').pop()}>
                      <code className="digest">{o.digest}</code>
                    </a>
                  </td>
                  <td className="num">{bytes(o.size)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {ended && s.key ? <BuildRecordLinks keyDigest={s.key} /> : null}
    </section>
  );
}

function BuildRecordLinks(props: { keyDigest: string }) {
  const [rec] = useApi<BuildRecord>(`/api/v1/store/builds/${props.keyDigest}`);
  if (rec.state === 'loading') return <p className="muted">reading the build record…</p>;
  if (rec.state === 'error') return <p className="muted">no build record: {rec.error.message}</p>;
  const r = rec.value;
  return (
    <p className="links">
      Built {time(r.timings.finishedAt)} in {duration(r.timings.durationMs)} by {r.runner} for {r.arch}
      {' · '}
      <a href={`/api/v1/store/builds/${r.cacheKey}`}>build record</a>
      {r.provenance ? (
        <>
          {' · '}
          <a href={`/api/v1/store/blobs/${r.provenance}?type=json`}>provenance</a>
        </>
      ) : null}
      {r.log ? (
        <>
          {' · '}
          <a href={`/api/v1/store/blobs/${r.log}?type=text`}>stored build log</a>
        </>
      ) : null}
    </p>
  );
}
