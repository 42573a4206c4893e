import { authHeaders } from './api.js';

// Server-Sent Events over fetch rather than EventSource: EventSource cannot send the
// Authorization header a server with `read = "token"` needs. Reconnects after a drop with
// Last-Event-ID (the log's line numbers), so a line is neither lost nor shown twice.

export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export function followSse(o: { path: string; onMessage: (m: SseMessage) => void; onOpen?: () => void; onEnd?: () => void; onError?: (e: Error) => void; resume?: boolean }): () => void {
  const ac = new AbortController();
  let lastId: string | undefined;
  let stopped = false;
  let retryMs = 500;
  const run = async (): Promise<void> => {
    while (!stopped) {
      let ended = false;
      try {
        const r = await fetch(o.path, { headers: { accept: 'text/event-stream', ...authHeaders(), ...(o.resume && lastId !== undefined ? { 'last-event-id': lastId } : {}) }, signal: ac.signal });
        if (!r.ok || !r.body) throw new Error(`${o.path} answered ${r.status}`);
        retryMs = 500;
        o.onOpen?.();
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        let msg: SseMessage = { event: 'message', data: '' };
        let hasData = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          // One pass over the chunk, one slice at its end: a replayed log arrives in chunks of
          // thousands of lines, and slicing the rest off after each line would be quadratic.
          let at = 0;
          let nl: number;
          while ((nl = buf.indexOf('\n', at)) >= 0) {
            const line = buf.charCodeAt(nl - 1) === 13 ? buf.slice(at, nl - 1) : buf.slice(at, nl);
            at = nl + 1;
            if (line === '') {
              if (hasData) {
                if (msg.id !== undefined) lastId = msg.id;
                if (msg.event === 'end') ended = true;
                o.onMessage(msg);
              }
              msg = { event: 'message', data: '' };
              hasData = false;
            } else if (line.startsWith(':')) continue;
            else {
              const i = line.indexOf(':');
              const field = i < 0 ? line : line.slice(0, i);
              const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (field === 'data') {
                msg.data = hasData ? `${msg.data}\n${val}` : val;
                hasData = true;
              } else if (field === 'event') msg.event = val;
              else if (field === 'id') msg.id = val;
            }
          }
          buf = buf.slice(at);
        }
      } catch (e: unknown) {
        if (stopped) return;
        o.onError?.(e instanceof Error ? e : new Error(String(e)));
      }
      if (ended) {
        o.onEnd?.();
        return;
      }
      if (stopped) return;
      await new Promise((r) => setTimeout(r, retryMs));
      retryMs = Math.min(retryMs * 2, 10_000);
    }
  };
  void run();
  return () => {
    stopped = true;
    ac.abort();
  };
}

/** Collects items and hands them over once per animation frame: a thousand lines a second cost sixty renders, not a thousand. */
export function frameBatcher<T>(flush: (items: T[]) => void): { push: (item: T) => void; cancel: () => void } {
  let items: T[] = [];
  let frame: number | undefined;
  const run = () => {
    frame = undefined;
    const out = items;
    items = [];
    flush(out);
  };
  return {
    push: (item) => {
      items.push(item);
      frame ??= requestAnimationFrame(run);
    },
    cancel: () => {
      if (frame !== undefined) cancelAnimationFrame(frame);
      frame = undefined;
      items = [];
    },
  };
}
