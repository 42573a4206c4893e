import { Box, Text } from 'ink';
import { progressOf, visibleRows, type BuildViewState, type PackageState } from './build-state.js';

export interface BuildViewProps {
  state: BuildViewState;
  /** the clock the elapsed times are measured against; the caller ticks it */
  now: number;
  /** lines the package rows may take; the rest are summarised in one line */
  maxRows: number;
}

const MARK: Record<PackageState['state'], { mark: string; color?: string }> = {
  waiting: { mark: '·' },
  cached: { mark: '✓', color: 'green' },
  building: { mark: '●', color: 'yellow' },
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
      return 'cached';
    case 'building':
      return `building ${formatElapsed(o.now - p.startedAt)}`;
    case 'done':
      return `built in ${(p.durationMs / 1000).toFixed(1)} s`;
    case 'failed':
      return `failed: ${p.reason}`;
    case 'skipped':
      return `skipped: ${p.reason}`;
  }
}

function Row({ name, width, pkg, now }: { name: string; width: number; pkg: PackageState; now: number }) {
  const { mark, color } = MARK[pkg.state];
  return (
    <Box>
      <Text color={color}>{mark} </Text>
      <Box width={width + 2} flexShrink={0}>
        <Text>{name}</Text>
      </Box>
      <Box flexShrink={0}>
        <Text color={pkg.state === 'waiting' ? 'gray' : color}>{describe({ pkg, now })}</Text>
      </Box>
      {pkg.state === 'building' && pkg.lastLine !== undefined && (
        <Box flexGrow={1} marginLeft={2}>
          <Text dimColor wrap="truncate-end">
            {pkg.lastLine}
          </Text>
        </Box>
      )}
    </Box>
  );
}

function Header({ state }: { state: BuildViewState }) {
  const p = progressOf(state);
  const parts = [`${p.done} of ${p.total} done`];
  if (p.building) parts.push(`${p.building} building`);
  if (p.failed) parts.push(`${p.failed} failed`);
  if (p.skipped) parts.push(`${p.skipped} skipped`);
  const color = p.failed ? 'red' : state.finished && p.done === p.total ? 'green' : undefined;
  return (
    <Text bold color={color}>
      weld build{state.finished ? ' finished' : ''}: {parts.join(', ')}
    </Text>
  );
}

/** The whole view is a function of the reduced events and the clock; it holds no state. */
export function BuildView({ state, now, maxRows }: BuildViewProps) {
  const { rows, hidden } = visibleRows({ state, max: maxRows });
  const width = Math.max(0, ...rows.map((r) => r.length));
  return (
    <Box flexDirection="column">
      {state.warnings.map((w, i) => (
        <Text key={`w${i}`} color="yellow">
          warning: {w}
        </Text>
      ))}
      <Header state={state} />
      {rows.map((name) => (
        <Row key={name} name={name} width={width} pkg={state.packages[name] ?? { state: 'waiting' }} now={now} />
      ))}
      {hidden > 0 && <Text color="gray">… {hidden} more not shown</Text>}
    </Box>
  );
}
