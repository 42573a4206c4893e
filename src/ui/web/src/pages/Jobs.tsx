import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api, ApiError } from '../api.js';
import { ErrorBox } from '../components/ErrorBox.js';
import { StateBadge } from '../components/State.js';
import { age, repoName } from '../format.js';
import { useNow, useTitle } from '../hooks.js';
import { Link, navigate, useLocation } from '../router.js';
import { followSse } from '../sse.js';
import type { JobList, JobState } from '../types.js';

// The jobs, newest first, live: any job or package event on /events refreshes the page of
// the list shown (at most a few times a second). The filters are the API's, kept in the URL.

const STATES: JobState[] = ['init', 'wait', 'build', 'done', 'failed', 'ready'];
const FIELDS = ['package', 'repository', 'submitter', 'submitted_after', 'submitted_before'] as const;
const REFRESH_MS = 300;

export function JobsPage() {
  useTitle('Jobs');
  const { search } = useLocation();
  const query = search.toString();
  const [list, setList] = useState<JobList>();
  const [error, setError] = useState<ApiError>();
  const now = useNow();
  const pending = useRef<number | undefined>(undefined);

  useEffect(() => {
    let alive = true;
    const load = () =>
      api<JobList>(`/api/v1/jobs${query ? `?${query}` : ''}`).then(
        (l) => {
          if (!alive) return;
          setList(l);
          setError(undefined);
        },
        (e: unknown) => alive && setError(e instanceof ApiError ? e : new ApiError(0, 'E_CLIENT', String(e))),
      );
    void load();
    const stop = followSse({
      path: '/api/v1/events',
      onMessage: (m) => {
        if (m.event !== 'job' && m.event !== 'package') return;
        pending.current ??= window.setTimeout(() => {
          pending.current = undefined;
          void load();
        }, REFRESH_MS);
      },
    });
    return () => {
      alive = false;
      stop();
      if (pending.current !== undefined) clearTimeout(pending.current);
      pending.current = undefined;
    };
  }, [query]);

  return (
    <section>
      <h1>Jobs</h1>
      <Filters search={search} />
      {error ? <ErrorBox error={error} what="the jobs" /> : null}
      {!list && !error ? <p aria-live="polite">Loading…</p> : null}
      {list ? (
        <>
          <p className="muted" aria-live="polite">
            {list.total} job{list.total === 1 ? '' : 's'}
            {list.total > list.per_page ? `, page ${list.page} of ${Math.ceil(list.total / list.per_page)}` : ''}
          </p>
          <div className="table-wrap">
            <table className="jobs">
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">State</th>
                  <th scope="col">Repository@commit</th>
                  <th scope="col">Packages</th>
                  <th scope="col">Submitter</th>
                  <th scope="col">Age</th>
                </tr>
              </thead>
              <tbody>
                {list.jobs.map((j) => {
                  const c = j.packageCounts;
                  const total = Object.values(c).reduce((a, b) => a + (b ?? 0), 0);
                  const done = (c.cached ?? 0) + (c.built ?? 0);
                  const bad = (c.failed ?? 0) + (c.skipped ?? 0) + (c.canceled ?? 0);
                  return (
                    <tr key={j.id} data-job={j.id}>
                      <td>
                        <Link to={`/jobs/${j.id}`}>
                          <code>{j.id.slice(-8)}</code>
                        </Link>
                      </td>
                      <td>
                        <StateBadge state={j.state} />
                      </td>
                      <td className="repo" title={`${j.repository} ${j.ref} ${j.commit}`}>
                        {repoName(j.repository)}@<code>{j.commit.slice(0, 10)}</code> <span className="muted">({j.ref})</span>
                      </td>
                      <td className="num" data-testid="counts">
                        {done}/{total}
                        {bad ? <span className="error-text"> ({bad} not built)</span> : null}
                      </td>
                      <td>{j.submitter}</td>
                      <td title={new Date(j.submittedAt).toISOString()}>{age(j.submittedAt, now)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
          <Pager list={list} search={search} />
        </>
      ) : null}
    </section>
  );
}

function Filters(props: { search: URLSearchParams }) {
  const initial = useMemo(() => ({ states: new Set(props.search.getAll('state')), fields: Object.fromEntries(FIELDS.map((f) => [f, props.search.get(f) ?? ''])) as Record<string, string> }), [props.search]);
  const [states, setStates] = useState(initial.states);
  const [fields, setFields] = useState(initial.fields);
  useEffect(() => {
    setStates(initial.states);
    setFields(initial.fields);
  }, [initial]);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const s of STATES) if (states.has(s)) q.append('state', s);
    for (const f of FIELDS) if (fields[f]?.trim()) q.set(f, fields[f]!.trim());
    navigate(`/${q.toString() ? `?${q}` : ''}`);
  };
  const label: Record<(typeof FIELDS)[number], string> = { package: 'Package', repository: 'Repository', submitter: 'Submitter', submitted_after: 'Submitted after', submitted_before: 'Submitted before' };
  return (
    <form className="filters" onSubmit={apply} aria-label="Filter the jobs">
      <fieldset>
        <legend>State</legend>
        {STATES.map((s) => (
          <label key={s} className="check">
            <input
              type="checkbox"
              checked={states.has(s)}
              onChange={(e) => {
                const next = new Set(states);
                if (e.target.checked) next.add(s);
                else next.delete(s);
                setStates(next);
              }}
            />
            {s}
          </label>
        ))}
      </fieldset>
      {FIELDS.map((f) => (
        <label key={f} className="field">
          {label[f]}
          <input value={fields[f] ?? ''} onChange={(e) => setFields({ ...fields, [f]: e.target.value })} placeholder={f.startsWith('submitted') ? '2026-12-01T00:00Z' : ''} />
        </label>
      ))}
      <div className="buttons">
        <button type="submit">Filter</button>
        <button type="button" onClick={() => navigate('/')}>
          Clear
        </button>
      </div>
    </form>
  );
}

function Pager(props: { list: JobList; search: URLSearchParams }) {
  const to = (api: string | undefined) => {
    if (!api) return undefined;
    const q = new URLSearchParams(api.split('?')[1] ?? '');
    return `/?${q.toString()}`;
  };
  const prev = to(props.list.links.prev);
  const next = to(props.list.links.next);
  if (!prev && !next) return null;
  return (
    <nav className="pager" aria-label="Pages of jobs">
      {prev ? <Link to={prev}>← Newer</Link> : <span />}
      {next ? <Link to={next}>Older →</Link> : <span />}
    </nav>
  );
}
