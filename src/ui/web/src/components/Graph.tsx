import { memo, useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactElement } from 'react';
import type { PackageState, PackageStatus } from '../types.js';

// A job's packages as its build graph: a layered layout by longest path (a package sits
// one column right of the deepest package it requires), one SVG. The layout depends on
// the edges only, and each node is a memoised component, so a state change re-renders
// the one node whose state changed. With many packages only the selected package's edges
// are drawn (a thousand packages' edges are a grey wash, not information) and only the
// nodes near the visible part of the graph are in the DOM, so a thousand-package job
// draws and updates what one sees.
//
// By keyboard the graph is one tab stop (a roving tabindex, as the ARIA practices' grid):
// the arrows move between packages (↑↓ in a layer, ←→ between layers), Home and End go to
// the first and last of a layer, Enter or Space selects.

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
  pos: Map<string, { x: number; y: number; depth: number; row: number }>;
  /** the layers, left to right, each top to bottom */
  columns: string[][];
  width: number;
  height: number;
  depths: number;
}

/**
 * Layers by longest path in O(packages + edges) after one sort of the names: Kahn's
 * topological order over the job's edges, each package one layer right of the deepest
 * package it requires. A cycle cannot reach here (metadata refuses them); its packages
 * would land in layer 0 rather than loop.
 */
export function layoutGraph(names: string[], requires: Record<string, string[]>): Layout {
  const sorted = [...names].sort();
  const index = new Map<string, number>();
  sorted.forEach((n, i) => index.set(n, i));
  const pending = new Int32Array(sorted.length);
  const dependents: number[][] = sorted.map(() => []);
  sorted.forEach((n, i) => {
    for (const r of requires[n] ?? []) {
      const j = index.get(r);
      if (j === undefined || j === i) continue;
      pending[i]!++;
      dependents[j]!.push(i);
    }
  });
  const depth = new Int32Array(sorted.length);
  const queue: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (pending[i] === 0) queue.push(i);
  for (let q = 0; q < queue.length; q++) {
    const u = queue[q]!;
    for (const v of dependents[u]!) {
      if (depth[u]! + 1 > depth[v]!) depth[v] = depth[u]! + 1;
      if (--pending[v]! === 0) queue.push(v);
    }
  }
  const columns: string[][] = [];
  // in name order: each layer's packages come out sorted
  sorted.forEach((n, i) => (columns[depth[i]!] ??= []).push(n));
  for (let d = 0; d < columns.length; d++) columns[d] ??= [];
  const pos: Layout['pos'] = new Map();
  let rows = 0;
  columns.forEach((col, d) => {
    rows = Math.max(rows, col.length);
    col.forEach((n, i) => pos.set(n, { x: PAD + d * (W + GAP_X), y: PAD + i * (H + GAP_Y), depth: d, row: i }));
  });
  if (!sorted.length) return { pos, columns, width: 0, height: 0, depths: 0 };
  return { pos, columns, width: PAD * 2 + columns.length * (W + GAP_X) - GAP_X, height: PAD * 2 + rows * (H + GAP_Y) - GAP_Y, depths: columns.length };
}

const Node = memo(function Node(props: { name: string; x: number; y: number; state: PackageState; selected: boolean; tabbable: boolean; onSelect: (n: string) => void }) {
  const label = props.name.length > 22 ? `${props.name.slice(0, 21)}…` : props.name;
  return (
    <g
      className={`node s-${props.state}${props.selected ? ' selected' : ''}`}
      transform={`translate(${props.x},${props.y})`}
      onClick={() => props.onSelect(props.name)}
      data-package={props.name}
      data-state={props.state}
      role="button"
      tabIndex={props.tabbable ? 0 : -1}
      aria-label={`${props.name}: ${props.state}`}
      aria-pressed={props.selected}
    >
      <rect className="ring" x={-3} y={-3} width={W + 6} height={H + 6} rx={6} />
      <rect width={W} height={H} rx={4} />
      <text x={6} y={15} aria-hidden="true">
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

/** The packages of `col` whose rows are within `top`..`bottom` (px): rows are evenly spaced, so no scan. */
function rowsIn(col: string[], top: number, bottom: number): [number, number] {
  const first = Math.max(0, Math.ceil((top - PAD - H) / (H + GAP_Y)));
  const last = Math.min(col.length, Math.floor((bottom - PAD) / (H + GAP_Y)) + 1);
  return [first, Math.max(first, last)];
}

/** The graph; memoised, so the page's clock and its other panels do not re-render it. */
export const Graph = memo(function Graph(props: { states: Record<string, PackageStatus>; requires: Record<string, string[]>; selected: string | undefined; onSelect: (n: string) => void }) {
  // The node set changes far less often than the states: the layout keys on the names only.
  const signature = Object.keys(props.states).join('\n');
  const names = useMemo(() => (signature ? signature.split('\n') : []), [signature]);
  const layout = useMemo(() => layoutGraph(names, props.requires), [names, props.requires]);
  // each package's edges, both ways, so drawing the selected one's is not a pass over all
  const edgesOf = useMemo(() => {
    const all: Array<{ from: string; to: string }> = [];
    const of = new Map<string, Array<{ from: string; to: string }>>();
    const add = (n: string, e: { from: string; to: string }) => {
      const l = of.get(n);
      if (l) l.push(e);
      else of.set(n, [e]);
    };
    for (const n of names) {
      for (const r of props.requires[n] ?? []) {
        if (r === n || !layout.pos.has(r)) continue;
        const e = { from: r, to: n };
        all.push(e);
        add(r, e);
        add(n, e);
      }
    }
    return { all, of };
  }, [names, props.requires, layout]);
  const shown = names.length <= ALL_EDGES_UP_TO ? edgesOf.all : props.selected !== undefined ? (edgesOf.of.get(props.selected) ?? []) : [];
  const wrap = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ left: 0, top: 0, width: 1400, height: 600 });
  // the package that holds the graph's one tab stop
  const [current, setCurrent] = useState<string>();
  const cur = current !== undefined && layout.pos.has(current) ? current : props.selected !== undefined && layout.pos.has(props.selected) ? props.selected : layout.columns[0]?.[0];
  const focusNext = useRef<string | undefined>(undefined);
  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setView((v) => ({ ...v, width: el.clientWidth, height: el.clientHeight })));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  useEffect(() => {
    // after an arrow key: the node is in the DOM now (the current one always is); focus scrolls it into view
    const n = focusNext.current;
    if (n === undefined) return;
    focusNext.current = undefined;
    wrap.current?.querySelector<SVGGElement>(`g.node[data-package="${CSS.escape(n)}"]`)?.focus();
  });
  const onKeyDown = useCallback(
    (e: KeyboardEvent<SVGSVGElement>) => {
      const target = (e.target as Element).closest('g.node');
      const name = target?.getAttribute('data-package');
      if (!name) return;
      const p = layout.pos.get(name);
      if (!p) return;
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        props.onSelect(name);
        return;
      }
      const col = layout.columns[p.depth]!;
      let next: string | undefined;
      const nearest = (d: number) => {
        const c = layout.columns[d];
        return c && c.length ? c[Math.min(p.row, c.length - 1)] : undefined;
      };
      if (e.key === 'ArrowDown') next = col[p.row + 1];
      else if (e.key === 'ArrowUp') next = col[p.row - 1];
      else if (e.key === 'ArrowRight') next = nearest(p.depth + 1);
      else if (e.key === 'ArrowLeft') next = nearest(p.depth - 1);
      else if (e.key === 'Home') next = col[0];
      else if (e.key === 'End') next = col.at(-1);
      else return;
      e.preventDefault();
      if (next === undefined) return;
      focusNext.current = next;
      setCurrent(next);
    },
    [layout, props.onSelect],
  );
  const virtual = names.length > VIRTUAL_FROM;
  const summary = useMemo(() => {
    const counts: Partial<Record<PackageState, number>> = {};
    for (const s of Object.values(props.states)) counts[s.state] = (counts[s.state] ?? 0) + 1;
    return Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ');
  }, [props.states]);
  // Only the columns and rows near the view: found by arithmetic, not by a pass over every node.
  const nodes: ReactElement[] = [];
  const drawn = new Set<string>();
  const draw = (n: string) => {
    if (drawn.has(n)) return;
    drawn.add(n);
    const p = layout.pos.get(n)!;
    const s = props.states[n];
    if (!s) return;
    nodes.push(<Node key={n} name={n} x={p.x} y={p.y} state={s.state} selected={n === props.selected} tabbable={n === cur} onSelect={props.onSelect} />);
  };
  const colW = W + GAP_X;
  const d0 = virtual ? Math.max(0, Math.ceil((view.left - MARGIN - PAD - W) / colW)) : 0;
  const d1 = virtual ? Math.min(layout.columns.length, Math.floor((view.left + view.width + MARGIN - PAD) / colW) + 1) : layout.columns.length;
  for (let d = d0; d < d1; d++) {
    const col = layout.columns[d]!;
    const [r0, r1] = virtual ? rowsIn(col, view.top - MARGIN, view.top + view.height + MARGIN) : [0, col.length];
    for (let r = r0; r < r1; r++) draw(col[r]!);
  }
  // the selected package and the tab stop are always there, in view or not
  if (props.selected !== undefined && layout.pos.has(props.selected)) draw(props.selected);
  if (cur !== undefined) draw(cur);
  return (
    <div className="graph-wrap" ref={wrap} onScroll={virtual ? (e) => setView({ left: e.currentTarget.scrollLeft, top: e.currentTarget.scrollTop, width: e.currentTarget.clientWidth, height: e.currentTarget.clientHeight }) : undefined}>
      <svg
        className="graph"
        width={layout.width}
        height={layout.height}
        viewBox={`0 0 ${layout.width} ${layout.height}`}
        role="group"
        aria-label={`Build graph of ${names.length} packages in ${layout.depths} layers: ${summary}. Arrow keys move between packages, Enter selects.`}
        data-ready="true"
        data-nodes={names.length}
        onKeyDown={onKeyDown}
        onFocus={(e) => {
          const n = (e.target as Element).closest('g.node')?.getAttribute('data-package');
          if (n && n !== cur) setCurrent(n);
        }}
      >
        <g className="edges" aria-hidden="true">
          {shown.map((e) => {
            const a = layout.pos.get(e.from)!;
            const b = layout.pos.get(e.to)!;
            const hot = e.from === props.selected || e.to === props.selected;
            return <path key={`${e.from}>${e.to}`} d={edgePath(a, b)} className={hot ? 'hot' : undefined} />;
          })}
        </g>
        {nodes}
      </svg>
    </div>
  );
});
