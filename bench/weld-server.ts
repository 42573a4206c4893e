import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

// A `weld server` child on 127.0.0.1 port 0 with the local runner, for the benches that
// load it (bench:server, bench:dashboard): its state, store and mirrors under `tmp`.

const weldBin = path.resolve(import.meta.dirname, '../../bin/weld');

/** Starts the server in `root` and resolves with its URL once it logs that it listens. */
export async function startServer(o: { root: string; tmp: string; env: NodeJS.ProcessEnv }): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [weldBin, 'server', '--listen', '127.0.0.1:0', '--state', path.join(o.tmp, 'state'), '--store', path.join(o.tmp, 'store'), '--mirrors', path.join(o.tmp, 'mirrors'), '--runner', 'local'], { cwd: o.root, env: o.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"msg":"listening","url":"([^"]+)"/.exec(err);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', (code) => reject(new Error(`weld server exited ${code}: ${err}`)));
  });
  return { proc, url };
}
