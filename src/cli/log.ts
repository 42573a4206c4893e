import { existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildRunning } from '../session/logs.js';
import { WeldError } from '../core/errors.js';
import { targetView } from '../metadata/targets.js';
import { err, ok } from '../core/result.js';
import type { BuildRecord } from '../store/records.js';
import { METADATA_OPTIONS } from './args.js';
import { packagesFromArgs, targetsFromArgs } from './build-args.js';
import type { VerbModule } from './commands.js';
import type { CliIO } from './io.js';
import { openFromArgs } from './metadata-args.js';
import { openStoreFromArgs, STORE_OPTION } from './store-args.js';

export const spec: VerbModule['spec'] = {
  description:
    "Prints the log of a package's newest build: from the store for a finished build, or the\n" +
    'live log of a build that is running or failed more recently than the last success.',
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep printing while the build runs' },
    test: { type: 'boolean', description: "the log of the package's last test (in its runtime env) instead of its build" },
    target: { type: 'string', value: '<name>', description: 'the target whose build it is, in a distro with several (default: the first)' },
    ...METADATA_OPTIONS,
    ...STORE_OPTION,
  },
  positionals: [{ name: 'package', required: true }],
  examples: ['weld log pyyaml', 'weld log -f pyyaml', 'weld log --test pyyaml'],
};

class NoLogError extends WeldError {
  readonly code = 'E_NO_LOG';
  constructor(pkg: string, what: 'build' | 'test' = 'build') {
    super(what === 'build' ? `no build log for ${pkg}: it has not been built here` : `no test log for ${pkg}: it has not been tested here`);
    this.hint = `run \`weld ${what} ${pkg}\``;
  }
}

/** Prints the file from `offset`, then, with `follow`, what is appended while the build runs. */
async function printFile(opts: { file: string; io: CliIO; follow: boolean }): Promise<void> {
  const fh = await open(opts.file, 'r');
  let offset = 0;
  const buf = Buffer.alloc(1 << 16);
  // one decoder for the whole file: a character split between two reads stays whole
  const decoder = new StringDecoder('utf8');
  try {
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      if (bytesRead > 0) {
        opts.io.stdout.write(decoder.write(buf.subarray(0, bytesRead)));
        offset += bytesRead;
        continue;
      }
      // The executor removes <log>.running when the build ends; one last read catches its tail.
      if (!opts.follow || !buildRunning(opts.file)) {
        const { bytesRead: last } = await fh.read(buf, 0, buf.length, offset);
        if (last > 0) opts.io.stdout.write(decoder.write(buf.subarray(0, last)));
        opts.io.stdout.write(decoder.end());
        return;
      }
      await sleep(200);
    }
  } finally {
    await fh.close();
  }
}

export const run: VerbModule['run'] = async (args, io) => {
  const loaded = await openFromArgs(args, io);
  if (!loaded.ok) return loaded;
  const metadata = loaded.value;
  const names = packagesFromArgs({ verb: 'log', args, metadata, all: false });
  if (!names.ok) return names;
  const pkg = names.value[0]!;
  const { finalLog, logsDirOf, runningLog } = await import('../session/logs.js');
  // In a distro with several targets, each target's builds have their logs apart.
  const targets = targetsFromArgs(args, metadata, 'log');
  if (!targets.ok) return targets;
  const logsDir = logsDirOf(targetView(metadata, targets.value[0]!.name));
  if (args.options['test'] === true) {
    // A test's log is written on this machine whether it passed or failed (the store keeps a copy, which `weld status` shows).
    const { testLogName } = await import('../session/test-one.js');
    const file = runningLog({ logsDir, pkg: testLogName(pkg) }) ?? finalLog({ logsDir, pkg: testLogName(pkg) });
    if (!existsSync(file)) return err(new NoLogError(pkg, 'test'));
    await printFile({ file, io, follow: args.options['follow'] === true });
    return ok(undefined);
  }
  const running = runningLog({ logsDir, pkg });
  const live = running ?? finalLog({ logsDir, pkg });
  const liveTime = existsSync(live) ? statSync(live).mtimeMs : -1;
  const opened = await openStoreFromArgs(args, io, { create: false, metadata });
  // No store yet just means nothing was built; any other store problem is reported.
  if (!opened.ok && opened.error.code !== 'E_STORE_NOT_FOUND') return opened;
  let newest: BuildRecord | undefined;
  if (opened.ok) {
    // The package's own builds, through the index's package → builds keys: no scan of every record.
    const found = await opened.value.store.withIndex('read builds', (s) => s.newestBuilds([pkg]));
    if (!found.ok) return found;
    newest = found.value[0];
  }
  const follow = args.options['follow'] === true;
  const runningNow = running !== undefined;
  // The live file wins when a build is running, or when it failed after the last recorded success.
  if (liveTime >= 0 && (runningNow || !newest?.log || liveTime > Date.parse(newest.timings.finishedAt) + 1000)) {
    if (!runningNow && newest?.log === undefined) io.stderr.write(`weld: ${pkg}: no successful build recorded; this is the log of the last attempt\n`);
    await printFile({ file: live, io, follow });
    return ok(undefined);
  }
  if (!newest?.log || !opened.ok) return err(new NoLogError(pkg));
  const blob = await opened.value.store.get(newest.log);
  if (!blob.ok) return err(blob.error);
  const decoder = new StringDecoder('utf8');
  for await (const chunk of blob.value) io.stdout.write(decoder.write(chunk as Buffer));
  io.stdout.write(decoder.end());
  return ok(undefined);
};
