import { useEffect, useRef, useState, type UIEvent } from 'react';
import { followSse, frameBatcher } from '../sse.js';
import type { LogLine } from '../types.js';

// A live log over SSE, virtualised: only the lines in view are in the DOM (a job's log may
// hold a million), and lines arriving are added once per animation frame. It follows the
// end while the reader is at the end; scrolled up, it stays put.

const LINE_PX = 18;
const OVERSCAN = 20;
/** lines kept in the page; older ones are dropped with a note (the full log is one link away) */
const KEEP = 200_000;

export function LogView(props: { path: string; plain: string; label: string; prefixPackages: boolean }) {
  const lines = useRef<LogLine[]>([]);
  const dropped = useRef(0);
  const [count, setCount] = useState(0);
  const [ended, setEnded] = useState<string>();
  const [height, setHeight] = useState(360);
  const [top, setTop] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const follow = useRef(true);

  useEffect(() => {
    lines.current = [];
    dropped.current = 0;
    setCount(0);
    setEnded(undefined);
    follow.current = true;
    const batch = frameBatcher<LogLine>((items) => {
      const all = lines.current;
      for (const l of items) all.push(l);
      if (all.length > KEEP) {
        dropped.current += all.length - KEEP;
        lines.current = all.slice(all.length - KEEP);
      }
      setCount(lines.current.length + dropped.current);
    });
    let stop: (() => void) | undefined;
    // After the frame that draws the page: a long log's replay is thousands of lines to
    // parse, and the page (the job's graph and list) comes first.
    let timer: number | undefined;
    const frame = requestAnimationFrame(() => {
      timer = window.setTimeout(() => {
        stop = followSse({
          path: props.path,
          resume: true,
          onMessage: (m) => {
            if (m.event === 'log') batch.push(JSON.parse(m.data) as LogLine);
            else if (m.event === 'end') {
              const e = JSON.parse(m.data) as { state: string; packageState?: string };
              setEnded(e.packageState ?? e.state);
            }
          },
        });
      }, 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
      stop?.();
      batch.cancel();
    };
  }, [props.path]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const el = box.current;
    if (el && follow.current) el.scrollTop = el.scrollHeight;
  }, [count]);

  const onScroll = (e: UIEvent<HTMLDivElement>) => {
    const el = e.currentTarget;
    follow.current = el.scrollTop + el.clientHeight >= el.scrollHeight - LINE_PX * 2;
    setTop(el.scrollTop);
  };

  const shown = lines.current;
  const first = Math.max(0, Math.floor(top / LINE_PX) - OVERSCAN);
  const last = Math.min(shown.length, Math.ceil((top + height) / LINE_PX) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const l = shown[i]!;
    rows.push(
      <div key={l.seq} className="line" style={{ top: i * LINE_PX }}>
        <span className="seq" aria-hidden="true" title={`line ${l.seq + 1} of the job's log`}>
          {i + 1 + dropped.current}
        </span>
        {props.prefixPackages && l.package ? <span className="pkg">[{l.package}] </span> : null}
        {l.text}
      </div>,
    );
  }
  return (
    <div className="log">
      <div className="log-head">
        <span>
          {props.label}: <span data-testid="log-count">{count}</span> line{count === 1 ? '' : 's'}
          {ended ? ` · ended (${ended})` : ' · live'}
          {dropped.current ? ` · the first ${dropped.current} are not shown here` : ''}
        </span>
        <a href={props.plain} target="_blank" rel="noreferrer">
          plain text
        </a>
      </div>
      <div className="log-body" ref={box} onScroll={onScroll} tabIndex={0} role="log" aria-label={props.label} aria-live="off">
        <div style={{ height: shown.length * LINE_PX, position: 'relative' }}>{rows}</div>
      </div>
    </div>
  );
}
