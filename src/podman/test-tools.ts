import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { APT_INSTALL, fixAndRecheck, type Check, type DoctorEvent, type DoctorReport } from './doctor.js';
import { which } from '../util/which.js';

// The doctor's `test` profile: the host tools the unit suites run for real (the wheel
// repair program needs pyelftools and patchelf, the C-extension fixtures gcc and
// Python.h, the wheel installs pip, the store's remote a registry, the dashboard a
// browser, the ssh:// backends an sshd). `npm test` runs it first, so a fresh machine is set up the way `npm start`
// sets it up for builds, or told exactly what to install.

/** The tests run Debian's python by its path: a version manager's python has no python3-pyelftools. */
export const TEST_PYTHON = '/usr/bin/python3';

export interface TestToolFacts {
  root: boolean;
  python: boolean;
  /** what TEST_PYTHON can import or include; all false without it */
  elftools: boolean;
  pip: boolean;
  headers: boolean;
  patchelf?: string;
  gcc?: string;
  git?: string;
  /** Debian's docker-registry: the real OCI registry the store's remote tests push to */
  'docker-registry'?: string;
  /** Debian's chromium: the real browser the dashboard tests drive */
  chromium?: string;
  /** apache2-utils' htpasswd: the store-remote tests put the registry behind Basic auth */
  htpasswd?: string;
  /** skopeo: the store-remote tests read what weld pushed with another client */
  skopeo?: string;
  /** openssh-server's sshd: the ssh:// backend tests reach a podman engine through a real one (started by the test, never as a service) */
  sshd?: string;
}

// One python start for every question (about 20 ms): the no-op check must stay cheap.
const PROBE =
  'import importlib.util as u, os, sysconfig, json\n' +
  'print(json.dumps({"elftools": u.find_spec("elftools") is not None, "pip": u.find_spec("pip") is not None,\n' +
  '  "headers": os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h"))}))';

export function detectTestTools(opts: { env: NodeJS.ProcessEnv; python?: string }): TestToolFacts {
  const python = opts.python ?? TEST_PYTHON;
  const facts: TestToolFacts = { root: process.getuid?.() === 0, python: existsSync(python), elftools: false, pip: false, headers: false };
  if (facts.python) {
    const r = spawnSync(python, ['-c', PROBE], { encoding: 'utf8', env: opts.env, timeout: 30_000 });
    try {
      Object.assign(facts, JSON.parse(r.stdout) as Pick<TestToolFacts, 'elftools' | 'pip' | 'headers'>);
    } catch {
      // a python that cannot run the probe answers nothing: every module counts as missing
    }
  }
  for (const name of ['patchelf', 'gcc', 'git', 'docker-registry', 'chromium', 'htpasswd', 'skopeo', 'sshd'] as const) {
    const p = which({ name, env: opts.env });
    if (p) facts[name] = p;
  }
  return facts;
}

export function checkTestTools(f: TestToolFacts): Check[] {
  const tool = (id: string, found: string | undefined, pkg: string, what: string): Check =>
    found ? { id, ok: true, detail: found } : { id, ok: false, detail: `${id} is not on PATH (${what})`, fix: [[...APT_INSTALL, pkg]] };
  const module = (id: string, ok: boolean, pkg: string, what: string): Check =>
    ok ? { id, ok: true, detail: `${TEST_PYTHON} has ${what}` } : { id, ok: false, detail: f.python ? `${TEST_PYTHON} lacks ${what}` : `no ${TEST_PYTHON}, so no ${what}`, fix: [[...APT_INSTALL, pkg]] };
  return [
    { id: 'user', ok: true, info: true, detail: f.root ? 'running as root: --fix installs with apt-get' : 'not root: --fix cannot install; the fix lines say what to install' },
    f.python ? { id: 'python3', ok: true, detail: TEST_PYTHON } : { id: 'python3', ok: false, detail: `${TEST_PYTHON} is missing (the tests run Debian's python)`, fix: [[...APT_INSTALL, 'python3']] },
    module('pyelftools', f.elftools, 'python3-pyelftools', 'pyelftools (the wheel repair program reads ELF files with it)'),
    module('pip', f.pip, 'python3-pip', 'pip (wheels are installed and imported)'),
    module('python3-dev', f.headers, 'python3-dev', 'Python.h (a C-extension fixture is compiled)'),
    tool('patchelf', f.patchelf, 'patchelf', 'the wheel repair program rewrites RUNPATH and DT_NEEDED with it'),
    tool('gcc', f.gcc, 'gcc', 'ELF fixtures are compiled'),
    tool('git', f.git, 'git', 'mirror tests serve and fetch real repositories'),
    tool('docker-registry', f['docker-registry'], 'docker-registry', 'the store pushes to and pulls from a real OCI registry'),
    tool('chromium', f.chromium, 'chromium', 'the web dashboard is tested in a real browser'),
    tool('htpasswd', f.htpasswd, 'apache2-utils', 'the registry of the store-remote tests is put behind htpasswd auth'),
    tool('skopeo', f.skopeo, 'skopeo', 'what the store pushes is read back by another OCI client'),
    tool('sshd', f.sshd, 'openssh-server', 'ssh:// build backends are reached through a real sshd the tests start'),
  ];
}

/** The `test` profile: check, and with `fix` install what is missing, then check again. */
export function doctorTests(opts: { fix: boolean; env?: NodeJS.ProcessEnv; onEvent?: (e: DoctorEvent) => void }): Promise<DoctorReport> {
  const env = opts.env ?? process.env;
  const look = () => {
    const facts = detectTestTools({ env });
    return { root: facts.root, checks: checkTestTools(facts) };
  };
  return fixAndRecheck({ look, fix: opts.fix, env, ...(opts.onEvent ? { onEvent: opts.onEvent } : {}) });
}
