import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.js';

// A real OCI registry for the store-remote tests: Debian's docker-registry (the CNCF
// Distribution registry) on 127.0.0.1, its storage in a temp dir, optionally behind
// htpasswd or behind a Bearer token server (test/helpers/token-server.ts, the spec's
// token flow). restart() brings it back on the same port and root (after kill()).

export interface TestRegistry {
  /** host:port */
  host: string;
  root: string;
  /** where the registry keeps blobs and manifests */
  storage: string;
  /** oci://host:port/<repo> */
  url(repo?: string): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
  /** with `token`: the token server the registry sends clients to */
  tokens?: TokenServer;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startRegistry(opts: { htpasswd?: { user: string; password: string }; token?: TokenServerOptions } = {}): Promise<TestRegistry> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'weld-registry-'));
  const storage = path.join(root, 'storage');
  mkdirSync(storage);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let auth = '';
  if (opts.htpasswd) {
    const line = execFileSync('/usr/bin/htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password], { encoding: 'utf8' });
    writeFileSync(path.join(root, 'htpasswd'), line.trim() + '\n');
    auth = `auth:\n  htpasswd:\n    realm: weld-test\n    path: ${path.join(root, 'htpasswd')}\n`;
  }
  let tokens: TokenServer | undefined;
  if (opts.token) {
    tokens = await startTokenServer(root, opts.token);
    auth = `auth:\n  token:\n    realm: ${tokens.realm}\n    service: ${tokens.service}\n    issuer: ${tokens.issuer}\n    rootcertbundle: ${tokens.certFile}\n`;
  }
  const config = path.join(root, 'config.yml');
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${auth}`,
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    // Its log goes to a file, not a pipe: a caller blocked in spawnSync (skopeo) stops
    // draining a pipe, and a registry whose stderr is full stops answering.
    const log = openSync(path.join(root, 'registry.log'), 'a');
    child = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', log] });
    closeSync(log);
    const stderr = () => readFileSync(path.join(root, 'registry.log'), 'utf8').slice(-2000);
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        const r = await fetch(`http://${host}/v2/`);
        if (r.status === 200 || r.status === 401) return;
      } catch {
        // not listening yet
      }
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`docker-registry did not start: ${stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };
  await start();
  return {
    host,
    root,
    storage,
    url: (repo = 'weld/cache') => `oci://${host}/${repo}`,
    kill,
    restart: start,
    ...(tokens ? { tokens } : {}),
    close: async () => {
      await kill('SIGKILL');
      await tokens?.close();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
