import { memo, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { PackageState, PackageStatus } from '../types.js';

// A job's packages as its build graph: a layered layout by dependency depth (a package
// sits one column right of the deepest package it requires), one SVG. The layout depends
// on the edges only, so a state change re-renders the one node whose state changed. With
// many packages only the selected package's edges are drawn (a thousand packages' edges
// are a grey wash, not information) and only the nodes near the visible part of the
// graph are in the DOM, so a thousand-package job draws and updates what one sees.

const W = 168;
const H = 22;
const GAP_X = 44;
const GAP_Y = 6;
const PAD = 8;
const ALL_EDGES_UP_TO = 300;
/** Past this many packages only the nodes near the visible part of the graph are in the DOM. */
const VIRTUAL_FROM = 300;
const MARGIN = 200;

export interface Layout {
  pos: Map<string, { x: number; y: number; depth: number }>;
  width: number;
  height: number;
  depths: number;
}

export function layoutGraph(names: string[], requires: Record<string, string[]>): Layout {
  const inJob = new Set(names);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (n: string): number => {
    const known = depth.get(n);
    if (known !== undefined) return known;
    if (visiting.has(n)) return 0; // a cycle cannot reach here (metadata refuses them); be safe anyway
    visiting.add(n);
    const d = Math.max(-1, ...(requires[n] ?? []).filter((r) => r !== n && inJob.has(r)).map(depthOf)) + 1;
    visiting.delete(n);
    depth.set(n, d);
    return d;
  };
  const columns: string[][] = [];
  for (const n of [...names].sort()) {
    const d = depthOf(n);
    (columns[d] ??= []).push(n);
  }
  const pos = new Map<string, { x: number; y: number; depth: number }>();
  let rows = 0;
  columns.forEach((col, d) => {
    rows = Math.max(rows, col.length);
    col.forEach((n, i) => pos.set(n, { x: PAD + d * (W + GAP_X), y: PAD + i * (H + GAP_Y), depth: d }));
  });
  return { pos, width: PAD * 2 + columns.length * (W + GAP_X) - GAP_X, height: PAD * 2 + rows * (H + GAP_Y) - GAP_Y, depths: columns.length };
}

const Node = memo(function Node(props: { name: string; x: number; y: number; state: PackageState; selected: boolean; onSelect: (n: string) => void }) {
  const label = props.name.length > 22 ? `${props.name.slice(0, 21)}…` : props.name;
  return (
    <g className={`node s-${props.state}${props.selected ? ' selected' : ''}`} transform={`translate(${props.x},${props.y})`} onClick={() => props.onSelect(props.name)} data-package={props.name} data-state={props.state}>
      <title>{`${props.name}: ${props.state}`}</title>
      <rect width={W} height={H} rx={4} />
      <text x={6} y={15}>
        {label}
      </text>
    </g>
  );
});

function edgePath(from: { x: number; y: number }, to: { x: number; y: number }): string {
  const x1 = from.x + W;
  const y1 = from.y + H / 2;
  const x2 = to.x;
  const y2 = to.y + H / 2;
  const mx = (x1 + x2) / 2;
  return `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
}

export function Graph(props: { states: Record<string, PackageStatus>; requires: Record<string, string[]>; selected: string | undefined; onSelect: (n: string) => void }) {
  // The node set changes far less often than the states: the layout keys on the names only.
  const signature = Object.keys(props.states).join('\n');
  const names = useMemo(() => (signature ? signature.split('\n') : []), [signature]);
  const layout = useMemo(() => layoutGraph(names, props.requires), [names, props.requires]);
  const edges = useMemo(() => {
    const out: Array<{ from: string; to: string }> = [];
    for (const [n, reqs] of Object.entries(props.requires)) for (const r of reqs) if (layout.pos.has(r) && layout.pos.has(n)) out.push({ from: r, to: n });
    return out;
  }, [props.requires, layout]);
  const shown = names.length <= ALL_EDGES_UP_TO ? edges : edges.filter((e) => e.from === props.selected || e.to === props.selected);
  const wrap = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ left: 0, top: 0, width: 1400, height: 600 });
  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setView((v) => ({ ...v, width: el.clientWidth, height: el.clientHeight })));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const virtual = names.length > VIRTUAL_FROM;
  const near = (p: { x: number; y: number }) => !virtual || (p.y + H >= view.top - MARGIN && p.y <= view.top + view.height + MARGIN && p.x + W >= view.left - MARGIN && p.x <= view.left + view.width + MARGIN);
  useLayoutEffect(() => {
    // The bench's mark: the frame that paints the graph (layout effects run before that
    // paint; a passive effect may wait behind the log's replay and mark late).
    const f = requestAnimationFrame(() => performance.mark('weld:graph-drawn'));
    return () => cancelAnimationFrame(f);
  }, [layout]);
  const counts: Partial<Record<PackageState, number>> = {};
  for (const s of Object.values(props.states)) counts[s.state] = (counts[s.state] ?? 0) + 1;
  const summary = Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ');
  return (
    <div className="graph-wrap" ref={wrap} onScroll={virtual ? (e) => setView({ left: e.currentTarget.scrollLeft, top: e.currentTarget.scrollTop, width: e.currentTarget.clientWidth, height: e.currentTarget.clientHeight }) : undefined}>
      <svg className="graph" width={layout.width} height={layout.height} viewBox={`0 0 ${layout.width} ${layout.height}`} role="img" aria-label={`Build graph of ${names.length} packages in ${layout.depths} layers: ${summary}`} data-ready="true" data-nodes={names.length}>
        <g className="edges">
          {shown.map((e) => {
            const a = layout.pos.get(e.from)!;
            const b = layout.pos.get(e.to)!;
            const hot = e.from === props.selected || e.to === props.selected;
            return <path key={`${e.from}>${e.to}`} d={edgePath(a, b)} className={hot ? 'hot' : undefined} />;
          })}
        </g>
        {names.map((n) => {
          const p = layout.pos.get(n)!;
          if (!near(p) && n !== props.selected) return null;
          return <Node key={n} name={n} x={p.x} y={p.y} state={props.states[n]!.state} selected={n === props.selected} onSelect={props.onSelect} />;
        })}
      </svg>
    </div>
  );
}
