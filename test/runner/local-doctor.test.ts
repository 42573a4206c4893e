import { describe, expect, it } from 'vitest';
import { checkLocalRunner, detectLocalRunner, type LocalRunnerFacts } from '../../src/runner/local-doctor.js';
import { APT_INSTALL } from '../../src/podman/doctor.js';

// `weld doctor --runner local`: the checks from facts (what a fresh machine looks like),
// and the probe on this host's own python3s.

const python = (o: Partial<NonNullable<LocalRunnerFacts['python']>>): NonNullable<LocalRunnerFacts['python']> => ({ path: '/usr/bin/python3', version: '3.11.2', debian: true, pip: true, setuptools: true, wheel: true, elftools: true, ...o });

describe('weld doctor --runner local', () => {
  it("names a python3 without wheel, with apt's fix for Debian's python and pip's for another", () => {
    const debian = checkLocalRunner({ root: true, python: python({ wheel: false }), systemElftools: true, patchelf: '/usr/bin/patchelf' });
    const wheel = debian.find((c) => c.id === 'wheel')!;
    expect(wheel.ok).toBe(false);
    expect(wheel.detail).toBe(`/usr/bin/python3 lacks wheel (setuptools projects fail with "invalid command 'bdist_wheel'" without it)`);
    expect(wheel.fix).toEqual([[...APT_INSTALL, 'python3-wheel']]);
    const pyenv = checkLocalRunner({ root: false, python: python({ path: '/root/.pyenv/shims/python3', debian: false, wheel: false, elftools: false }), systemElftools: true, patchelf: '/usr/bin/patchelf' });
    const w2 = pyenv.find((c) => c.id === 'wheel')!;
    expect(w2.fix).toEqual([['/root/.pyenv/shims/python3', '-m', 'pip', 'install', 'wheel']]);
    expect(w2.detail).toContain("run weld with Debian's python first on PATH (PATH=/usr/bin:$PATH, apt-get install python3-wheel)");
    // the repair step falls back to Debian's python for pyelftools
    expect(pyenv.find((c) => c.id === 'pyelftools')).toMatchObject({ ok: true, detail: '/usr/bin/python3 has pyelftools (the repair step uses it)' });
  });

  it('fails without any python3, and needs patchelf', () => {
    const none = checkLocalRunner({ root: true, systemElftools: false });
    expect(none.find((c) => c.id === 'python3')).toMatchObject({ ok: false, fix: [[...APT_INSTALL, 'python3', 'python3-pip', 'python3-setuptools', 'python3-wheel']] });
    const noPatchelf = checkLocalRunner({ root: true, python: python({}), systemElftools: true });
    expect(noPatchelf.find((c) => c.id === 'patchelf')).toMatchObject({ ok: false, fix: [[...APT_INSTALL, 'patchelf']] });
  });

  it("probes the host's Debian python for real", () => {
    const facts = detectLocalRunner({ env: { ...process.env, PATH: '/usr/bin:/bin' } });
    expect(facts.python).toMatchObject({ path: '/usr/bin/python3', debian: true, pip: true, elftools: true });
    expect(facts.python?.version).toMatch(/^3\.\d+\.\d+/);
  });
});
