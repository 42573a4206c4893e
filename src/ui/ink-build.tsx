import { render } from 'ink';
import type { BuildEvent } from '../session/events.js';
import { finish, initialState, reduce, type BuildViewState } from './build-state.js';
import { BuildView } from './build-view.js';

export interface BuildViewOptions {
  stdout: NodeJS.WriteStream;
  /** the build's packages in build order, all waiting until events say otherwise */
  packages: string[];
  /** injectable so tests get stable elapsed times */
  clock?: () => number;
  /** how often elapsed times are redrawn */
  tickMs?: number;
}

export interface LiveBuildView {
  onEvent(e: BuildEvent): void;
  /** Draws the final frame, leaves it on screen and lets go of the terminal. */
  end(): Promise<void>;
}

/** The ink view of a running build. Call it before installing a SIGINT handler: ink's exit
 *  hook (signal-exit) kills the process on a signal when it finds no other listener, and a
 *  `once` handler registered before it is already gone by the time it looks. */
export function startBuildView(o: BuildViewOptions): LiveBuildView {
  const clock = o.clock ?? Date.now;
  let state: BuildViewState = initialState({ packages: o.packages });
  // Header and warnings take lines too; a frame taller than the terminal would flicker.
  const maxRows = () => Math.max(3, (o.stdout.rows || 24) - 2 - state.warnings.length);
  // Read on every frame: the terminal may be resized while it builds.
  const element = () => <BuildView state={state} now={clock()} maxRows={maxRows()} columns={o.stdout.columns || 80} />;
  // Ctrl-C belongs to the command (it aborts the builds); ink must not exit on it, and
  // nothing in the build writes to the console, so there is nothing to patch.
  const instance = render(element(), { stdout: o.stdout, exitOnCtrlC: false, patchConsole: false });
  const draw = () => instance.rerender(element());
  const ticker = setInterval(draw, o.tickMs ?? 1000);
  return {
    onEvent(e) {
      state = reduce(state, { event: e, at: clock() });
      draw();
    },
    async end() {
      clearInterval(ticker);
      state = finish(state);
      draw();
      instance.unmount();
      await instance.waitUntilExit();
    },
  };
}
