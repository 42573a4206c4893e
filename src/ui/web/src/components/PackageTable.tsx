import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { duration } from '../format.js';
import type { PackageStatus } from '../types.js';
import { StateBadge } from './State.js';

// The job's packages as a list one can read and reach by keyboard (the graph is for the
// eye), virtualised: a thousand rows, twenty in the DOM. Each row is memoised on its
// package's status (an SSE update replaces only the changed packages' objects), so an
// update re-renders the changed rows, and the clock only the rows still building.
// ↑ and ↓ move between rows; Enter or Space selects (each name is a button).

const ROW_PX = 32;
const OVERSCAN = 8;

const Row = memo(function Row(props: { name: string; status: PackageStatus; top: number; selected: boolean; now: number; onSelect: (n: string) => void }) {
  const { name: n, status: s } = props;
  const took = s.startedAt !== undefined ? (s.endedAt ?? props.now) - s.startedAt : undefined;
  return (
    <div role="row" className={`prow${props.selected ? ' selected' : ''}`} style={{ top: props.top }} data-package={n} data-state={s.state}>
      <span role="cell" className="pname">
        <button type="button" className="link" onClick={() => props.onSelect(n)} aria-pressed={props.selected} aria-label={`${n}: ${s.state}${s.test ? `, test ${s.test.state}` : ''}`}>
          {n}
        </button>
      </span>
      <span role="cell">
        <StateBadge state={s.state} />
        {s.test ? <span className={`test t-${s.test.state}`}> test {s.test.state}</span> : null}
      </span>
      <span role="cell" className="num">
        {took !== undefined ? duration(took) : ''}
      </span>
    </div>
  );
});

export const PackageTable = memo(function PackageTable(props: { states: Record<string, PackageStatus>; selected: string | undefined; onSelect: (n: string) => void; now: number }) {
  const [filter, setFilter] = useState('');
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(320);
  const box = useRef<HTMLDivElement>(null);
  const focusNext = useRef<string | undefined>(undefined);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    const n = focusNext.current;
    if (n === undefined) return;
    focusNext.current = undefined;
    box.current?.querySelector<HTMLButtonElement>(`[data-package="${CSS.escape(n)}"] button`)?.focus();
  });
  const f = filter.trim().toLowerCase();
  const names = useMemo(() => Object.keys(props.states).filter((n) => !f || n.includes(f) || props.states[n]!.state === f), [props.states, f]);
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const n = (e.target as Element).closest('[data-package]')?.getAttribute('data-package');
    if (!n) return;
    e.preventDefault();
    const i = names.indexOf(n) + (e.key === 'ArrowDown' ? 1 : -1);
    const next = names[i];
    if (next === undefined || !box.current) return;
    // the row next to a rendered one is rendered too (the overscan): focus scrolls it into view
    const there = box.current.querySelector<HTMLButtonElement>(`[data-package="${CSS.escape(next)}"] button`);
    if (there) {
      there.focus();
      return;
    }
    // else bring it into the rendered window first; the effect focuses it after the render
    const el = box.current;
    if (i * ROW_PX < el.scrollTop) el.scrollTop = i * ROW_PX;
    else if ((i + 1) * ROW_PX > el.scrollTop + el.clientHeight) el.scrollTop = (i + 1) * ROW_PX - el.clientHeight;
    focusNext.current = next;
    setTop(el.scrollTop);
  };
  const first = Math.max(0, Math.floor(top / ROW_PX) - OVERSCAN);
  const last = Math.min(names.length, Math.ceil((top + height) / ROW_PX) + OVERSCAN);
  const rows = [];
  for (let i = first; i < last; i++) {
    const n = names[i]!;
    const s = props.states[n]!;
    // only a package still building reads the clock
    const live = s.startedAt !== undefined && s.endedAt === undefined;
    rows.push(<Row key={n} name={n} status={s} top={i * ROW_PX} selected={n === props.selected} now={live ? props.now : 0} onSelect={props.onSelect} />);
  }
  return (
    <div className="ptable">
      <label className="field inline">
        Find a package
        <input value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="name or state" />
      </label>
      <div role="table" aria-label={`Packages (${names.length})`} aria-rowcount={names.length} className="ptable-body" style={{ height: Math.min(340, Math.max(names.length, 1) * ROW_PX + 2) }} ref={box} onScroll={(e) => setTop(e.currentTarget.scrollTop)}>
        <div role="rowgroup" style={{ height: names.length * ROW_PX, position: 'relative' }} onKeyDown={onKeyDown}>
          {rows}
        </div>
      </div>
    </div>
  );
});
