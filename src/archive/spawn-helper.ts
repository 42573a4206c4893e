import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

// Runs `<bin> -dc < NAME.in > NAME.out 2> NAME.err` for decompressBuffer, from small
// long-lived `sh` helpers instead of from Node itself. Why: fork() copies the page
// tables of the process that forks, and env compose holds the debs it has unpacked
// (hundreds of MB) while it starts one decompressor per deb. Measured here: 182 spawns
// from a Node process holding 1.5 GB took 41 s and 7.7 s of system time, against 1.7 s
// and 0.2 s holding nothing. A shell forks in microseconds whatever Node holds.
// Names go over the helper's stdin, one per line, and must be plain file names in the
// helper's directory (checked), so nothing a shell could read as syntax ever reaches it.

const SCRIPT = 'while IFS= read -r name; do "$1" -dc < "$name.in" > "$name.out" 2> "$name.err"; echo "$?"; done';
const PLAIN = /^[A-Za-z0-9._-]+$/;
/** an idle helper stays this long for the next deb, then exits */
const IDLE_MS = 2000;

interface Helper {
  child: ChildProcess;
  key: string;
  buffered: string;
  waiting?: (status: number | string) => void;
  idle?: NodeJS.Timeout;
}

const idle = new Map<string, Helper[]>();

/** True when `name` may be handed to a helper (a plain file name). */
export const plainName = (name: string) => PLAIN.test(name);

/**
 * Runs the decompressor on `<dir>/<name>.in` in a helper; resolves to its exit status,
 * or a sentence when the helper itself failed.
 */
export async function runInHelper(opts: { bin: string; dir: string; name: string }): Promise<number | string> {
  if (!plainName(opts.name)) throw new Error(`bug: helper job name ${JSON.stringify(opts.name)} is not a plain file name`);
  const key = `${opts.bin}\0${path.resolve(opts.dir)}`;
  const helper = idle.get(key)?.pop() ?? start(opts.bin, opts.dir, key);
  if (helper.idle) clearTimeout(helper.idle);
  hold(helper, true);
  const status = await new Promise<number | string>((resolve) => {
    helper.waiting = resolve;
    helper.child.stdin!.write(`${opts.name}\n`);
  });
  hold(helper, false);
  if (typeof status === 'number' && helper.child.exitCode === null) park(helper);
  return status;
}

function start(bin: string, dir: string, key: string): Helper {
  const child = spawn('/bin/sh', ['-c', SCRIPT, 'weld-decompress', bin], { cwd: dir, stdio: ['pipe', 'pipe', 'ignore'] });
  const helper: Helper = { child, key, buffered: '' };
  const settle = (v: number | string) => {
    const w = helper.waiting;
    helper.waiting = undefined;
    w?.(v);
  };
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    helper.buffered += s;
    const nl = helper.buffered.indexOf('\n');
    if (nl < 0) return;
    const line = helper.buffered.slice(0, nl);
    helper.buffered = helper.buffered.slice(nl + 1);
    settle(/^\d+$/.test(line) ? Number(line) : `the helper shell said ${JSON.stringify(line.slice(0, 80))}`);
  });
  child.stdin!.on('error', () => undefined); // the exit below says what happened
  child.on('error', (e) => settle(`cannot start /bin/sh: ${e.message}`));
  child.on('exit', (code, signal) => {
    forget(helper);
    settle(`the helper shell exited (${signal ?? code})`);
  });
  return helper;
}

/** A helper keeps the process alive only while a call waits on it; an idle one never does. */
function hold(helper: Helper, busy: boolean): void {
  const c = helper.child;
  for (const h of [c, c.stdin, c.stdout] as unknown as Array<{ ref?: () => void; unref?: () => void } | null>) {
    if (busy) h?.ref?.();
    else h?.unref?.();
  }
}

function park(helper: Helper): void {
  const list = idle.get(helper.key) ?? [];
  list.push(helper);
  idle.set(helper.key, list);
  helper.idle = setTimeout(() => {
    forget(helper);
    helper.child.stdin!.end();
  }, IDLE_MS);
  helper.idle.unref();
}

function forget(helper: Helper): void {
  if (helper.idle) clearTimeout(helper.idle);
  const list = idle.get(helper.key);
  const at = list?.indexOf(helper) ?? -1;
  if (list && at >= 0) list.splice(at, 1);
}
