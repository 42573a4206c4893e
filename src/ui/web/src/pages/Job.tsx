import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { api, ApiError, apiPrefetched, prefetchedNow, storedToken } from '../api.js';
import { ACTIVE, keepUnchanged } from '../job-state.js';
import { useAuth } from '../auth.js';
import { ErrorBox } from '../components/ErrorBox.js';
import { Graph } from '../components/Graph.js';
import { LogView } from '../components/LogView.js';
import { PackageTable } from '../components/PackageTable.js';
import { Composes } from '../components/Composes.js';
import { PackageDetail } from '../components/PackageDetail.js';
import { StateBadge } from '../components/State.js';
import { duration, repoName, time } from '../format.js';
import { useNow, useTitle } from '../hooks.js';
import { followSse, frameBatcher } from '../sse.js';
import type { Job, PackageStatus, ServiceEvent } from '../types.js';

// One job, live: its packages as the build graph and as a list, each package's log over
// SSE, timings, outputs with digests, provenance and SBOM links, the composes with the
// commands that use them, and cancel. State changes come from /events?job=<id>, applied
// once per animation frame; the job itself is re-read when its own state changes.

const NO_EDGES: Record<string, string[]> = {};

export function JobPage(props: { id: string }) {
  useTitle(`Job ${props.id.slice(-8)}`);
  // a job /prefetch.js has read already is drawn in the page's first render
  const [job, setJob] = useState<Job | undefined>(() => prefetchedNow<Job>(`/api/v1/jobs/${props.id}`));
  const [error, setError] = useState<ApiError>();
  const [selected, setSelected] = useState<string>();
  const now = useNow(1000);

  const first = useRef(true);
  const reload = useCallback(
    () =>
      // the first read takes what /prefetch.js asked for before the app loaded
      (first.current ? ((first.current = false), apiPrefetched<Job>(`/api/v1/jobs/${props.id}`)) : api<Job>(`/api/v1/jobs/${props.id}`)).then(
        (j) => {
          setJob((prev) => keepUnchanged(prev, j));
          setError(undefined);
        },
        (e: unknown) => setError(e instanceof ApiError ? e : new ApiError(0, 'E_CLIENT', String(e))),
      ),
    [props.id],
  );

  useEffect(() => {
    let alive = true;
    let reloadTimer: number | undefined;
    const batch = frameBatcher<ServiceEvent>((events) => {
      if (!alive) return;
      let jobChanged = false;
      setJob((j) => {
        if (!j) return j;
        let states: Record<string, PackageStatus> | undefined;
        let state = j.state;
        for (const e of events) {
          if (e.type === 'package') {
            states ??= { ...j.packageStates };
            const before = states[e.package] ?? { state: e.state };
            states[e.package] = {
              ...before,
              state: e.state,
              ...(e.key ? { key: e.key } : {}),
              ...(e.outputs ? { outputs: e.outputs } : {}),
              ...(e.error ? { error: e.error } : {}),
              ...(e.state === 'building' ? { startedAt: e.at } : {}),
              ...(e.durationMs !== undefined && before.startedAt !== undefined ? { endedAt: before.startedAt + e.durationMs } : ['cached', 'built', 'failed', 'skipped', 'canceled'].includes(e.state) ? { endedAt: e.at } : {}),
            };
          } else if (e.type === 'job') {
            state = e.state;
            jobChanged = true;
          }
        }
        return states || state !== j.state ? { ...j, state, ...(states ? { packageStates: states } : {}) } : j;
      });
      // transitions, composes, the error: the job's own JSON has them
      if (jobChanged) {
        clearTimeout(reloadTimer);
        reloadTimer = window.setTimeout(() => void reload(), 100);
      }
    });
    void reload();
    const stop = followSse({
      path: `/api/v1/events?job=${props.id}`,
      onMessage: (m) => {
        if (m.event === 'job' || m.event === 'package') batch.push(JSON.parse(m.data) as ServiceEvent);
      },
      // events before the stream opened (/events does not replay) were missed: read the job
      // again once it is open, after a reconnect as on the first connect
      onOpen: () => void reload(),
    });
    return () => {
      alive = false;
      stop();
      batch.cancel();
      clearTimeout(reloadTimer);
    };
  }, [props.id, reload]);

  const painted = useRef(false);
  useLayoutEffect(() => {
    // The frame that first draws the job: its animation frame callback runs before that
    // frame's style, layout and paint, and a message posted there is taken after them, so
    // the mark falls just after the paint. bench:dashboard reads it.
    if (!job || painted.current) return;
    let live = true;
    const f = requestAnimationFrame(() => {
      const ch = new MessageChannel();
      ch.port1.onmessage = () => {
        ch.port1.close();
        if (!live || painted.current) return;
        painted.current = true;
        performance.mark('weld:job-painted');
      };
      ch.port2.postMessage(null);
    });
    return () => {
      live = false;
      cancelAnimationFrame(f);
    };
  }, [job]);

  // Escape closes the selected package, and focus goes back to where it was picked
  const pickedFrom = useRef<{ el: HTMLElement | SVGElement | null; name: string } | undefined>(undefined);
  const select = useCallback((n: string) => {
    const a = document.activeElement;
    pickedFrom.current = { el: a instanceof HTMLElement || a instanceof SVGElement ? a : null, name: n };
    setSelected(n);
  }, []);
  const close = useCallback(() => {
    setSelected(undefined);
    const back = pickedFrom.current;
    pickedFrom.current = undefined;
    // after the detail panel (which had focus) is gone: the same element if it is still
    // there, else the package's node (the graph keeps its tab stop in the DOM)
    requestAnimationFrame(() => {
      if (!back) return;
      const to = back.el?.isConnected && back.el !== document.body ? back.el : document.querySelector<SVGGElement>(`svg.graph g.node[data-package="${CSS.escape(back.name)}"]`);
      to?.focus();
    });
  }, []);
  useEffect(() => {
    if (selected === undefined) return;
    // on the window: wherever focus is (the detail's heading, the log, the page itself)
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented) return;
      e.preventDefault();
      close();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [selected, close]);

  if (error && !job) return <ErrorBox error={error} what={`job ${props.id}`} />;
  if (!job) return <p aria-live="polite">Loading job {props.id}…</p>;
  const started = job.transitions.find((t) => t.state === 'build')?.at;
  const ended = ACTIVE.has(job.state) ? undefined : job.transitions.at(-1)?.at;
  const sel = selected !== undefined && job.packageStates[selected] ? selected : undefined;
  return (
    <section className="job">
      <div className="job-head">
        <h1>
          Job <code>{job.id}</code> <StateBadge state={job.state} />
        </h1>
        <CancelButton job={job} onDone={reload} />
      </div>
      <dl className="facts">
        <dt>Repository</dt>
        <dd title={job.repository}>
          {repoName(job.repository)}@<code>{job.commit.slice(0, 12)}</code> ({job.ref})
        </dd>
        <dt>Submitted</dt>
        <dd>
          {time(job.submittedAt)} by {job.submitter}
        </dd>
        <dt>Builds</dt>
        <dd>{job.all ? 'all packages' : job.packages.join(', ') || '—'} {job.composes.length ? `· composes ${job.composes.join(', ')}` : ''}</dd>
        <dt>Time</dt>
        <dd>
          {started !== undefined ? `building ${duration((ended ?? now) - started)}` : 'not started'} · waited {duration((started ?? ended ?? now) - job.submittedAt)}
        </dd>
        {job.error ? (
          <>
            <dt>Error</dt>
            <dd className="error-text">
              {job.error.code}: {job.error.message}
            </dd>
          </>
        ) : null}
      </dl>
      <div className="job-grid">
        <div className="col">
          <section aria-labelledby="graph-h" className="panel graph-panel">
            <h2 id="graph-h">Build graph</h2>
            <Graph states={job.packageStates} requires={job.requires ?? NO_EDGES} selected={sel} onSelect={select} />
            <Legend />
          </section>
          <section aria-labelledby="log-h" className="panel">
            <h2 id="log-h">{sel ? `Log of ${sel}` : 'Job log'}</h2>
            {sel ? (
              <LogView key={sel} path={`/api/v1/jobs/${job.id}/packages/${encodeURIComponent(sel)}/log`} plain={`/api/v1/jobs/${job.id}/packages/${encodeURIComponent(sel)}/log`} label={`${sel}'s log`} prefixPackages={false} />
            ) : (
              <LogView key="job" path={`/api/v1/jobs/${job.id}/log`} plain={`/api/v1/jobs/${job.id}/log`} label="the job's log" prefixPackages={true} />
            )}
          </section>
        </div>
        <div className="col">
          <section aria-labelledby="pk-h" className="panel">
            <h2 id="pk-h">Packages</h2>
            <PackageTable states={job.packageStates} selected={sel} onSelect={select} now={now} />
          </section>
          {sel ? <PackageDetail job={job} name={sel} onClose={close} /> : null}
        </div>
      </div>
      <Composes job={job} />
      <section aria-labelledby="tr-h" className="panel">
        <h2 id="tr-h">Transitions</h2>
        <ol className="transitions">
          {job.transitions.map((t, i) => (
            <li key={i}>
              <StateBadge state={t.state} /> <time dateTime={new Date(t.at).toISOString()}>{time(t.at)}</time> {t.reason}
            </li>
          ))}
        </ol>
      </section>
    </section>
  );
}

function Legend() {
  return (
    <p className="legend" aria-hidden="true">
      {(['waiting', 'blocked', 'building', 'cached', 'built', 'failed', 'skipped', 'canceled'] as const).map((s) => (
        <span key={s} className={`badge s-${s}`}>
          {s}
        </span>
      ))}
    </p>
  );
}

function CancelButton(props: { job: Job; onDone: () => void }) {
  const { who } = useAuth();
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string>();
  if (!ACTIVE.has(props.job.state)) return null;
  const allowed = who?.name != null && (!who.tokens || (storedToken() !== undefined && (who.role === 'admin' || who.name === props.job.submitter)));
  const cancel = async () => {
    setBusy(true);
    try {
      await api(`/api/v1/jobs/${props.job.id}/cancel`, { method: 'POST' });
      setMessage('cancel requested');
      props.onDone();
    } catch (e: unknown) {
      setMessage(e instanceof ApiError ? `${e.message}${e.hint ? ` (${e.hint})` : ''}` : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="cancel">
      <button type="button" className="danger" onClick={cancel} disabled={busy || !allowed} aria-describedby="cancel-why">
        Cancel job
      </button>
      <span id="cancel-why" className="muted" role="status">
        {message ?? (allowed ? '' : who?.tokens ? `sign in with ${props.job.submitter}'s token or an admin's to cancel` : 'sign in to cancel')}
      </span>
    </div>
  );
}
