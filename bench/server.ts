import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { git, INSTANT_RECIPE, writePackProject, type BenchPack } from './pack-project.js';
import { startServer } from './weld-server.js';

// bench:server (issue 16), loopback only, a fixed count and time; it stops by itself.
//  1. GET /api/v1/jobs/{id}: 50 clients for BENCH_SECONDS (default 20) — requests/s,
//     p50/p99 latency, errors (goal 0), server RSS before and after. Goal ≥ 5,000 req/s, p99 < 10 ms.
//     Loaded by autocannon and, when Debian's wrk is installed, by wrk too: autocannon is
//     JavaScript and takes a core of these two for itself, wrk (C) a fraction of one.
//  2. POST /api/v1/jobs: no-op jobs (every package cached) — distinct jobs (package × jobs
//     option), so none is a 409; the same figures, and how long the queue takes to drain.
//  3. SSE fan-out: BENCH_FOLLOWERS (default 200) clients follow one job's log of
//     BENCH_LINES (default 1,000) lines; every client must get every line; server CPU per 1,000 lines.
// BENCH_PACKAGES (default 20) sets the distro size; each package is mirrored for real first.
// BENCH_KEEP=1 keeps the temporary project, store and server state for a look afterwards.
// The reference is measured side by side: `weld build` of the same cached packages by the
// CLI (a no-op), against a no-op job's time from POST to ready.

const repoRoot = path.resolve(import.meta.dirname, '../..');
const weldBin = path.join(repoRoot, 'bin/weld');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 50);
const FOLLOWERS = Number(process.env['BENCH_FOLLOWERS'] ?? 200);
const LINES = Number(process.env['BENCH_LINES'] ?? 1000);
const PACKAGES = Number(process.env['BENCH_PACKAGES'] ?? 20);

/** PACKAGES pack packages with an instant recipe, and one that prints LINES lines. */
function writeProject(tmp: string): string {
  const lines = `#!/bin/sh\nset -e\ni=1\nwhile [ "$i" -le ${LINES} ]; do echo "line $i"; i=$((i+1)); done\nmkdir -p "$WELD_OUT/prefix"\necho ok > "$WELD_OUT/prefix/out.txt"\n`;
  const packages: BenchPack[] = [...Array.from({ length: PACKAGES }, (_, i) => ({ name: `p${i}`, recipe: 'instant' })), { name: 'lines', recipe: 'lines' }];
  return writePackProject({ tmp, recipes: { instant: INSTANT_RECIPE, lines }, packages });
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = (await r.json()) as Record<string, unknown>;
  if (r.status !== 201) throw new Error(`POST /jobs: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

async function until(url: string, id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const j = (await (await fetch(`${url}/api/v1/jobs/${id}`)).json()) as Record<string, unknown>;
    if (j['state'] === 'ready' || j['state'] === 'failed') return j;
    await new Promise((r) => setTimeout(r, 20));
  }
}

function report(name: string, r: autocannon.Result, rss: [number, number]): void {
  const non2xx = r.non2xx;
  console.log(
    `${name}: ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, errors ${r.errors + r.timeouts}, non-2xx ${non2xx}, ${r.requests.total} requests in ${r.duration.toFixed(1)} s; server RSS ${(rss[0] / 1024).toFixed(0)} → ${(rss[1] / 1024).toFixed(0)} MiB`,
  );
}

/** wrk's figures of one run, or undefined without wrk. */
function wrk(o: { url: string; connections: number; seconds: number }): string | undefined {
  let out: string;
  try {
    out = execFileSync('wrk', ['-t1', `-c${o.connections}`, `-d${o.seconds}s`, '--latency', o.url], { encoding: 'utf8' });
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1];
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? 'none';
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? '0';
  return `${Number(rps).toFixed(0)} req/s, p50 ${p50}, p99 ${p99}, socket errors ${errors}, non-2xx ${non2xx}`;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-bench-server-'));
  const env = { ...process.env, WELD_ALLOW_PATHS: path.join(tmp, 'releases') };
  let server: ChildProcess | undefined;
  try {
    const root = writeProject(tmp);
    execFileSync(process.execPath, [weldBin, 'mirror', '--all'], { cwd: root, env: { ...env, WELD_STORE: path.join(tmp, 'store'), WELD_MIRRORS: path.join(tmp, 'mirrors') }, stdio: 'ignore' });
    // A distro commits its lock: a job at the commit finds its mirrors up to date.
    git(root, 'add', 'metadata/weld.lock');
    git(root, 'commit', '-q', '-m', 'lock');
    const all = Array.from({ length: PACKAGES }, (_, i) => `p${i}`);
    const s = await startServer({ root, tmp, env });
    server = s.proc;
    const pid = s.proc.pid!;
    // fill the store: every package built once
    const first = await post(s.url, { repository: root, ref: 'main', packages: all });
    const built = await until(s.url, first['id'] as string);
    if (built['state'] !== 'ready') throw new Error(`the first job failed: ${JSON.stringify(built['transitions'])}`);

    // the reference, side by side: the CLI's no-op build of the same packages, against a no-op job
    // The CLI's first run in the project fills its caches (metadata, commit times) as the
    // first job filled the server's; the second is the no-op the job is compared with.
    const cliNoop = () => {
      const t0 = performance.now();
      execFileSync(process.execPath, [weldBin, 'build', ...all, '--runner', 'local', '--store', path.join(tmp, 'store'), '--mirrors', path.join(tmp, 'mirrors')], { cwd: root, env, stdio: 'ignore' });
      return performance.now() - t0;
    };
    const cliColdMs = cliNoop();
    const cliMs = cliNoop();
    const jobT0 = performance.now();
    const noop = await post(s.url, { repository: root, ref: 'main', packages: all, jobs: 3 });
    const noopJob = await until(s.url, noop['id'] as string);
    const jobMs = performance.now() - jobT0;
    const cachedAll = Object.values(noopJob['packageStates'] as Record<string, { state: string }>).every((p) => p.state === 'cached');
    console.log(`no-op of ${PACKAGES} cached packages: CLI weld build ${cliMs.toFixed(0)} ms (its first run, caches empty: ${cliColdMs.toFixed(0)} ms), a service job POST→ready ${jobMs.toFixed(0)} ms: ${(jobMs / cliMs).toFixed(2)}× the CLI (goal ≤ 2×; all cached: ${cachedAll})`);

    const id = first['id'] as string;
    let rss0 = rssKiB(pid);
    const get = await autocannon({ url: `${s.url}/api/v1/jobs/${id}`, connections: CONNECTIONS, duration: SECONDS });
    report(`GET /jobs/{id}, ${CONNECTIONS} clients (autocannon)`, get, [rss0, rssKiB(pid)]);
    const wrkResult = wrk({ url: `${s.url}/api/v1/jobs/${id}`, connections: CONNECTIONS, seconds: SECONDS });
    console.log(wrkResult ? `GET /jobs/{id}, ${CONNECTIONS} clients (wrk, 1 thread): ${wrkResult}` : 'GET /jobs/{id} with wrk: skipped (no wrk on PATH: apt-get install wrk)');

    rss0 = rssKiB(pid);
    let n = 0;
    const posted = await autocannon({
      url: `${s.url}/api/v1/jobs`,
      connections: CONNECTIONS,
      duration: SECONDS,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // distinct jobs: each (package, jobs) pair once, so no identical job is ever active
          setupRequest: (req) => {
            const i = n++;
            return { ...req, body: JSON.stringify({ repository: root, ref: 'main', packages: [`p${i % PACKAGES}`], jobs: 1 + (Math.floor(i / PACKAGES) % 256) }) };
          },
        },
      ],
    });
    report(`POST /jobs (no-op jobs), ${CONNECTIONS} clients`, posted, [rss0, rssKiB(pid)]);
    const drainT0 = performance.now();
    for (;;) {
      const m = await (await fetch(`${s.url}/metrics`)).text();
      if (/^weld_queue_depth 0$/m.test(m) && /^weld_jobs_running 0$/m.test(m)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(`  the queue of ${posted.requests.total} jobs drained ${((performance.now() - drainT0) / 1000).toFixed(1)} s after the load stopped`);

    // SSE fan-out: every follower gets every line
    const job = await post(s.url, { repository: root, ref: 'main', packages: ['lines'] });
    const cpu0 = cpuSeconds(pid);
    const counts = await Promise.all(
      Array.from({ length: FOLLOWERS }, async () => {
        const r = await fetch(`${s.url}/api/v1/jobs/${job['id'] as string}/packages/lines/log`, { headers: { accept: 'text/event-stream' } });
        const text = await r.text();
        return (text.match(/^event: log$/gm) ?? []).length;
      }),
    );
    const cpu = cpuSeconds(pid) - cpu0;
    const lines = counts.map((c) => c);
    const complete = lines.filter((c) => c >= LINES).length;
    console.log(`SSE fan-out: ${FOLLOWERS} followers of one log of ${LINES} lines: ${complete}/${FOLLOWERS} got every line; server CPU ${(cpu * 1000).toFixed(0)} ms, ${((cpu * 1000) / (LINES / 1000) / FOLLOWERS).toFixed(1)} ms per 1,000 lines per follower`);
  } finally {
    server?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    if (process.env['BENCH_KEEP']) console.log(`kept ${tmp} (BENCH_KEEP)`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
