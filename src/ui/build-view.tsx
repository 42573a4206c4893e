import { Box, Text } from 'ink';
import { fitLine, fitSegments, oneLine } from './fit.js';
import { progressOf, visibleRows, type BuildViewState, type PackageState } from './build-state.js';

export interface BuildViewProps {
  state: BuildViewState;
  /** the clock the elapsed times are measured against; the caller ticks it */
  now: number;
  /** lines the package rows may take; the rest are summarised in one line */
  maxRows: number;
  /** the terminal's width: no line may be wider (see fit.ts) */
  columns: number;
}

const MARK: Record<PackageState['state'], { mark: string; color?: string }> = {
  waiting: { mark: '·' },
  cached: { mark: '✓', color: 'green' },
  building: { mark: '●', color: 'yellow' },
  testing: { mark: '●', color: 'cyan' },
  done: { mark: '✓', color: 'green' },
  failed: { mark: '✗', color: 'red' },
  skipped: { mark: '-', color: 'gray' },
};

export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

function describe(o: { pkg: PackageState; now: number }): string {
  const p = o.pkg;
  switch (p.state) {
    case 'waiting':
      return 'waiting';
    case 'cached':
      return `${p.substituted ? 'substituted from the store remote' : 'cached'}${p.tested ? ', tested' : ''}`;
    case 'building':
      return `building ${formatElapsed(o.now - p.startedAt)}${p.backend ? ` on ${p.backend}` : ''}`;
    case 'testing':
      return `testing ${formatElapsed(o.now - p.startedAt)}${p.backend ? ` on ${p.backend}` : ''}`;
    case 'done':
      return `built in ${(p.durationMs / 1000).toFixed(1)} s${p.tested ? ', tested' : ''}`;
    case 'failed':
      return `failed: ${p.reason}`;
    case 'skipped':
      return `skipped: ${p.reason}`;
  }
}

function Row({ name, width, pkg, now, columns }: { name: string; width: number; pkg: PackageState; now: number; columns: number }) {
  const { mark, color } = MARK[pkg.state];
  const segments = fitSegments(
    [
      { text: `${mark} `, color },
      { text: name.padEnd(width + 2) },
      { text: oneLine(describe({ pkg, now })), color: pkg.state === 'waiting' ? 'gray' : color },
      ...((pkg.state === 'building' || pkg.state === 'testing') && pkg.lastLine !== undefined ? [{ text: `  ${oneLine(pkg.lastLine)}`, dim: true }] : []),
    ] as Array<{ text: string; color?: string; dim?: boolean }>,
    lineWidth(columns),
  );
  return (
    <Text wrap="truncate-end">
      {segments.map((s, i) => (
        <Text key={i} {...(s.color ? { color: s.color } : {})} dimColor={s.dim === true}>
          {s.text}
        </Text>
      ))}
    </Text>
  );
}

// One column spare: some terminals wrap when a line fills the last column.
const lineWidth = (columns: number) => Math.max(10, columns - 1);

function Header({ state, columns }: { state: BuildViewState; columns: number }) {
  const p = progressOf(state);
  const parts = [`${p.done} of ${p.total} done`];
  if (p.building) parts.push(`${p.building} building`);
  if (p.failed) parts.push(`${p.failed} failed`);
  if (p.skipped) parts.push(`${p.skipped} skipped`);
  const color = p.failed ? 'red' : state.finished && p.done === p.total ? 'green' : undefined;
  return (
    <Text bold color={color} wrap="truncate-end">
      {fitLine(`weld build${state.finished ? ' finished' : ''}: ${parts.join(', ')}`, lineWidth(columns))}
    </Text>
  );
}

/** The whole view is a function of the reduced events and the clock; it holds no state. */
export function BuildView({ state, now, maxRows, columns }: BuildViewProps) {
  const { rows, hidden } = visibleRows({ state, max: maxRows });
  const width = Math.max(0, ...rows.map((r) => r.length));
  return (
    <Box flexDirection="column">
      {state.warnings.map((w, i) => (
        <Text key={`w${i}`} color="yellow" wrap="truncate-end">
          {fitLine(`warning: ${w}`, lineWidth(columns))}
        </Text>
      ))}
      <Header state={state} columns={columns} />
      {rows.map((name) => (
        <Row key={name} name={name} width={width} pkg={state.packages[name] ?? { state: 'waiting' }} now={now} columns={columns} />
      ))}
      {hidden > 0 && <Text color="gray">{fitLine(`… ${hidden} more not shown`, lineWidth(columns))}</Text>}
    </Box>
  );
}
