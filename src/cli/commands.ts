import type { WeldError } from '../core/errors.js';
import type { Result } from '../core/result.js';
import type { CommandSpec, ParsedArgs } from './args.js';
import type { CliIO } from './io.js';

/** What a verb's module exports; its summary lives in the registry below. */
export interface VerbModule {
  spec: Omit<CommandSpec, 'name' | 'summary'>;
  /** the value is for callers that chain verbs (`weld up` reads the build summary); main ignores it */
  run(args: ParsedArgs, io: CliIO): Promise<Result<unknown, WeldError>>;
}

export interface VerbEntry {
  name: string;
  summary: string;
  /** verbs load on demand, so `weld --help` reads no verb code */
  load: () => Promise<VerbModule>;
}

export const VERBS: VerbEntry[] = [
  { name: 'check', summary: 'Validate the metadata and report every problem with file:line:col', load: () => import('./check.js') },
  { name: 'list', summary: 'List the packages of the distro', load: () => import('./list.js') },
  { name: 'show', summary: 'Show one package: metadata, requirements, dependents, patches', load: () => import('./show.js') },
  { name: 'graph', summary: 'Print the build order (optionally of some packages and what they need)', load: () => import('./graph.js') },
  { name: 'import', summary: 'Write package files for a requirements.txt (or Debian source packages) and what they need at run time', load: () => import('./import.js') },
  { name: 'mirror', summary: 'Mirror upstream sources into git: upstream and distro branches, and the lock', load: () => import('./mirror.js') },
  { name: 'build', summary: 'Build packages and what they require, reusing cached builds; --check verifies reproducibility', load: () => import('./build.js') },
  { name: 'test', summary: "Test the wheels' current builds on their arch (imports, commands), building nothing", load: () => import('./test.js') },
  { name: 'status', summary: 'Show which packages are up to date, which need a build and why', load: () => import('./status.js') },
  { name: 'log', summary: "Print the log of a package's newest build (--follow while it runs)", load: () => import('./log.js') },
  { name: 'store', summary: 'Inspect and maintain the content store: info, ls, cat, put, verify, gc; push, pull, remote ls with a store remote', load: () => import('./store.js') },
  { name: 'key', summary: 'Make and show the signing keys of records pushed to a store remote: generate, public', load: () => import('./key.js') },
  { name: 'doctor', summary: 'Check (and with --fix set up) the host for s390x builds: podman, runtime, qemu, binfmt', load: () => import('./doctor.js') },
  { name: 'up', summary: 'The main job: doctor, envs, mirror, build and every compose, reusing what is done', load: () => import('./up.js') },
  { name: 'compose', summary: 'Make what users consume from the current builds: a wheelhouse (pip index + SBOM) or an image', load: () => import('./compose.js') },
  { name: 'serve', summary: 'Serve one composed wheelhouse directory over HTTP for pip (static; `weld server` is the build service)', load: () => import('./serve.js') },
  { name: 'server', summary: 'Run the build service: jobs over a REST API, live logs, auth tokens, metrics (and `server token`)', load: () => import('./server.js') },
  { name: 'remote', summary: 'Talk to a weld server: submit, status, wait, cancel, logs, list', load: () => import('./remote.js') },
  { name: 'backends', summary: 'Build backends (podman engines reached through its remote API): ls, add, rm, check', load: () => import('./backends.js') },
  { name: 'env', summary: 'Build environments from the store: lock, fetch, compose, ls, shell', load: () => import('./env.js') },
];
