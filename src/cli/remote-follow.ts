import type { ServiceEvent } from '../service/bus.js';
import type { WeldClient } from '../service/client.js';
import type { RemoteError } from '../service/client.js';
import type { BuildEvent } from '../session/events.js';
import type { BuildFailure, SkipReason } from '../session/failures.js';
import { err, ok, type Result } from '../core/result.js';
import { jsonRenderer, liveRenderer, plainRenderer, wantsLiveView, type BuildRenderer } from './build-render.js';
import type { CliIO } from './io.js';

// Following a remote job shows what a local build shows: the server's package states and
// log lines (GET /events?job=…&logs=1) become the build session's events and go to the
// same renderers (the ink view on a terminal, plain lines otherwise, JSON with --json).

const FINAL = new Set(['failed', 'ready']);

/** The build event a server event stands for, if any. */
export function asBuildEvent(e: ServiceEvent): BuildEvent | undefined {
  if (e.type === 'log') return e.package === undefined ? undefined : { type: 'log', subject: { kind: 'package', name: e.package }, at: e.at, data: { line: e.text } };
  if (e.type !== 'package') return undefined;
  const subject = { kind: 'package' as const, name: e.package };
  const error = (e.error ?? { code: 'E_REMOTE', message: e.state }) as unknown;
  switch (e.state) {
    case 'building':
      return { type: 'started', subject, at: e.at, data: { key: e.key ?? '', changed: ['on the server'] } };
    case 'cached':
      return { type: 'cached', subject, at: e.at, data: { key: e.key ?? '', outputs: (e.outputs ?? []) as never } };
    case 'built':
      return { type: 'done', subject, at: e.at, data: { key: e.key ?? '', outputs: (e.outputs ?? []) as never, durationMs: e.durationMs ?? 0 } };
    case 'failed':
      return { type: 'failed', subject, at: e.at, data: { ...(e.key ? { key: e.key } : {}), error: error as BuildFailure, logTail: [] } };
    case 'skipped':
    case 'canceled':
      return { type: 'skipped', subject, at: e.at, data: { error: error as SkipReason } };
    default:
      return undefined;
  }
}

/** Follows the job until it is failed or ready; returns its final state. */
export async function followJob(o: { io: CliIO; client: WeldClient; id: string; packages: string[]; json: boolean }): Promise<Result<string, RemoteError>> {
  const { io } = o;
  const renderer: BuildRenderer = o.json ? jsonRenderer(io) : wantsLiveView({ io, json: false }) ? await liveRenderer({ io, packages: o.packages }) : plainRenderer(io);
  const abort = new AbortController();
  let final: string | undefined;
  const finish = (state: string) => {
    final ??= state;
    abort.abort();
  };
  // The stream has no past: a poll catches a job that ended before the stream was open.
  const poll = setInterval(() => {
    void o.client.call<{ state: string }>({ method: 'GET', path: `/api/v1/jobs/${o.id}` }).then((r) => {
      if (r.ok && FINAL.has(r.value.state)) setTimeout(() => finish(r.value.state), 300);
    });
  }, 1000);
  const streamed = await o.client.stream({
    path: `/api/v1/events?job=${o.id}&logs=1`,
    signal: abort.signal,
    onEvent: (m) => {
      let e: ServiceEvent;
      try {
        e = JSON.parse(m.data) as ServiceEvent;
      } catch {
        return;
      }
      const b = asBuildEvent(e);
      if (b) renderer.onEvent(b);
      if (e.type === 'job' && !o.json) io.stderr.write(`job ${o.id}: ${e.state}: ${e.reason}\n`);
      if (e.type === 'job' && FINAL.has(e.state)) finish(e.state);
    },
  });
  clearInterval(poll);
  await renderer.end();
  if (!streamed.ok && final === undefined) return err(streamed.error);
  return ok(final ?? 'unknown');
}
