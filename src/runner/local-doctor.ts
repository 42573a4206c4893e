import { spawnSync } from 'node:child_process';
import { APT_INSTALL, fixAndRecheck, type Check, type DoctorEvent, type DoctorReport } from '../podman/doctor.js';
import { which } from '../util/which.js';

// `weld doctor --runner local`: what the local runner needs from the host. Recipes run
// `python3 -m pip wheel --no-build-isolation` with the python3 on PATH, so its build
// backends must be installed beside it (a fresh machine's python3 has no `wheel`, and a
// setuptools project then fails with "invalid command 'bdist_wheel'" and no hint); the
// test step runs the same python3; the repair step needs patchelf and pyelftools.

export interface LocalRunnerFacts {
  root: boolean;
  /** the python3 PATH finds, and what it can import */
  python?: { path: string; version: string; debian: boolean; pip: boolean; setuptools: boolean; wheel: boolean; elftools: boolean };
  /** /usr/bin/python3 has pyelftools (the repair step falls back to it) */
  systemElftools: boolean;
  patchelf?: string;
  unshare?: string;
}

const PROBE =
  'import importlib.util as u, json, sys\n' +
  'print(json.dumps({"version": sys.version.split()[0], ' +
  '"pip": u.find_spec("pip") is not None, "setuptools": u.find_spec("setuptools") is not None, ' +
  '"wheel": u.find_spec("wheel") is not None, "elftools": u.find_spec("elftools") is not None}))';

function probe(python: string, env: NodeJS.ProcessEnv): Omit<NonNullable<LocalRunnerFacts['python']>, 'path' | 'debian'> | undefined {
  const r = spawnSync(python, ['-c', PROBE], { encoding: 'utf8', env, timeout: 30_000 });
  try {
    return JSON.parse(r.stdout) as Omit<NonNullable<LocalRunnerFacts['python']>, 'path' | 'debian'>;
  } catch {
    return undefined;
  }
}

export function detectLocalRunner(opts: { env: NodeJS.ProcessEnv }): LocalRunnerFacts {
  const facts: LocalRunnerFacts = { root: process.getuid?.() === 0, systemElftools: false };
  const found = which({ name: 'python3', env: opts.env });
  if (found) {
    const p = probe(found, opts.env);
    if (p) facts.python = { path: found, debian: found === '/usr/bin/python3', ...p };
  }
  facts.systemElftools = facts.python?.debian ? facts.python.elftools : (probe('/usr/bin/python3', opts.env)?.elftools ?? false);
  for (const name of ['patchelf', 'unshare'] as const) {
    const p = which({ name, env: opts.env });
    if (p) facts[name] = p;
  }
  return facts;
}

export function checkLocalRunner(f: LocalRunnerFacts): Check[] {
  const py = f.python;
  const checks: Check[] = [{ id: 'user', ok: true, info: true, detail: f.root ? 'running as root: --fix installs with apt-get' : 'not root: --fix cannot install; the fix lines say what to install' }];
  if (!py) {
    checks.push({ id: 'python3', ok: false, detail: 'no python3 on PATH that runs (recipes and tests run `python3`)', fix: [[...APT_INSTALL, 'python3', 'python3-pip', 'python3-setuptools', 'python3-wheel']] });
    return checks;
  }
  checks.push({ id: 'python3', ok: true, detail: `${py.path} (Python ${py.version})` });
  // Debian's python gets Debian's packages; another python (pyenv, a venv) gets them from its own pip,
  // or is passed over for Debian's by putting /usr/bin first on PATH.
  const module = (id: string, has: boolean, deb: string, why: string): Check =>
    has
      ? { id, ok: true, detail: `${py.path} has ${id}` }
      : {
          id,
          ok: false,
          detail: `${py.path} lacks ${id} (${why})${py.debian ? '' : `; without an index to install from, run weld with Debian's python first on PATH (PATH=/usr/bin:$PATH, apt-get install ${deb})`}`,
          ...(py.debian ? { fix: [[...APT_INSTALL, deb]] } : { fix: [[py.path, '-m', 'pip', 'install', id]] }),
        };
  checks.push(module('pip', py.pip, 'python3-pip', 'recipes build wheels with `python3 -m pip wheel`'));
  checks.push(module('setuptools', py.setuptools, 'python3-setuptools', 'the build backend of most projects; builds run without isolation, so it must be installed'));
  checks.push(module('wheel', py.wheel, 'python3-wheel', "setuptools projects fail with \"invalid command 'bdist_wheel'\" without it"));
  checks.push(
    py.elftools || f.systemElftools
      ? { id: 'pyelftools', ok: true, detail: py.elftools ? `${py.path} has pyelftools` : '/usr/bin/python3 has pyelftools (the repair step uses it)' }
      : { id: 'pyelftools', ok: false, detail: 'no pyelftools for the wheel repair step (it reads ELF files with it)', fix: [[...APT_INSTALL, 'python3-pyelftools']] },
  );
  checks.push(f.patchelf ? { id: 'patchelf', ok: true, detail: f.patchelf } : { id: 'patchelf', ok: false, detail: 'patchelf is not on PATH (the wheel repair step rewrites RUNPATH with it)', fix: [[...APT_INSTALL, 'patchelf']] });
  checks.push(
    f.unshare
      ? { id: 'unshare', ok: true, info: true, detail: `${f.unshare}: builds run with the network cut where the kernel allows` }
      : { id: 'unshare', ok: true, info: true, detail: 'no unshare: local builds run with network access (util-linux provides it)' },
  );
  return checks;
}

/** The `local` profile: check, and with `fix` install what is missing, then check again. */
export function doctorLocalRunner(opts: { fix: boolean; env?: NodeJS.ProcessEnv; onEvent?: (e: DoctorEvent) => void }): Promise<DoctorReport> {
  const env = opts.env ?? process.env;
  const look = () => {
    const facts = detectLocalRunner({ env });
    return { root: facts.root, checks: checkLocalRunner(facts) };
  };
  return fixAndRecheck({ look, fix: opts.fix, env, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) });
}
