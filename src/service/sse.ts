import type { ServerResponse } from 'node:http';
import type { Bus, ServiceEvent } from './bus.js';
import { FINAL_STATES, packageEnded, type Job } from './job.js';
import type { JobStore, LogLine } from './job-store.js';

// Live logs over Server-Sent Events. A follower gets the log from the start, or from the
// line after `Last-Event-ID` (ids are the log's sequence numbers), then every new line as
// it comes, then an `end` event with the final state. The bus is subscribed before the
// stored past is read, and lines are sent in sequence order with none twice, so a line
// written while the past is read is neither lost nor repeated.

const HEARTBEAT_MS = 15_000;

/** A live line's SSE text, made once for all its followers (a fan-out of 200 serialises it once). */
const wire = new WeakMap<ServiceEvent, string>();

export function startSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(': weld\n\n');
}

export function sseEvent(o: { id?: number; event?: string; data: string }): string {
  // A line break in data would end the field: each line is its own data: field.
  const data = o.data.split(/\r\n|\r|\n/).map((l) => `data: ${l}\n`).join('');
  return `${o.id !== undefined ? `id: ${o.id}\n` : ''}${o.event ? `event: ${o.event}\n` : ''}${data}\n`;
}

/** Parses Last-Event-ID: a sequence number, or nothing (from the start). */
export function lastEventId(header: string | string[] | undefined): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (v === undefined || !/^\d{1,10}$/.test(v)) return undefined;
  return Number(v);
}

/** Streams one job's log (or one package's lines of it) until the job, or the package, ends. */
export async function followLog(o: { res: ServerResponse; bus: Bus; jobStore: JobStore; job: Job; pkg?: string; after?: number }): Promise<void> {
  const { res, job } = o;
  let next = o.after === undefined ? 0 : o.after + 1;
  let closed = false;
  const buffered: Array<{ line: LogLine; from: ServiceEvent }> = [];
  let live = false;
  const send = (l: LogLine, from?: ServiceEvent) => {
    if (l.seq < next || closed) return;
    next = l.seq + 1;
    let text = from && wire.get(from);
    if (text === undefined) {
      text = sseEvent({ id: l.seq, event: 'log', data: JSON.stringify({ seq: l.seq, ...(l.pkg !== undefined ? { package: l.pkg } : {}), text: l.text, at: l.at }) });
      if (from) wire.set(from, text);
    }
    res.write(text);
  };
  const pkgEnded = () => o.pkg !== undefined && packageEnded(job.packageStates[o.pkg]?.state ?? 'waiting');
  const finished = () => FINAL_STATES.has(job.state) || pkgEnded();
  const end = () => {
    if (closed) return;
    const state = o.pkg !== undefined ? job.packageStates[o.pkg]?.state : job.state;
    res.write(sseEvent({ event: 'end', data: JSON.stringify({ job: job.id, state: job.state, ...(o.pkg !== undefined ? { package: o.pkg, packageState: state } : {}) }) }));
    close();
    res.end();
  };
  const onEvent = (e: ServiceEvent) => {
    if (e.job !== job.id) return;
    if (e.type === 'log') {
      if (o.pkg !== undefined && e.package !== o.pkg) return;
      const line: LogLine = { seq: e.seq, text: e.text, at: e.at, ...(e.package !== undefined ? { pkg: e.package } : {}) };
      if (live) send(line, e);
      else buffered.push({ line, from: e });
    } else if (live && ((e.type === 'job' && FINAL_STATES.has(e.state)) || (e.type === 'package' && e.package === o.pkg && packageEnded(e.state)))) {
      // Lines are published before the state change that ends them: all are sent by now.
      end();
    }
  };
  const unsubscribe = o.bus.subscribe(onEvent);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const close = () => {
    closed = true;
    unsubscribe();
    clearInterval(heartbeat);
  };
  res.on('close', close);
  for (const l of await o.jobStore.readLog({ id: job.id, from: next, ...(o.pkg !== undefined ? { pkg: o.pkg } : {}) })) send(l);
  for (const b of buffered.sort((x, y) => x.line.seq - y.line.seq)) send(b.line, b.from);
  live = true;
  if (finished()) end();
}

/** `GET /events`: every job and package state change (and, with `logs`, every line). */
export function followEvents(o: { res: ServerResponse; bus: Bus; logs: boolean; job?: string }): void {
  let id = 0;
  const unsubscribe = o.bus.subscribe((e) => {
    if (e.type === 'log' && !o.logs) return;
    if (o.job !== undefined && e.job !== o.job) return;
    o.res.write(sseEvent({ id: id++, event: e.type, data: JSON.stringify(e) }));
  });
  const heartbeat = setInterval(() => o.res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  o.res.on('close', () => {
    unsubscribe();
    clearInterval(heartbeat);
  });
}
