import { wheelTags, type WheelName } from '../wheel/name.js';

/**
 * Whether a wheel's compatibility tags admit CPython `python` (e.g. 3.11) on Linux
 * `arch` (glibc): the python, abi and platform tag sets must each have a match.
 */
/** Debian arch names → the machine names wheel platform tags use. */
const WHEEL_ARCH: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', ppc64el: 'ppc64le', i386: 'i686', armhf: 'armv7l' };

export function wheelRunsOn(opts: { name: WheelName; python: string; arch: string }): boolean {
  const arch = WHEEL_ARCH[opts.arch] ?? opts.arch;
  const [major, minor] = opts.python.split('.').map(Number) as [number, number];
  const cp = `cp${major}${minor}`;
  const tags = wheelTags(opts.name);
  const pyOk = tags.python.some((t) => {
    if (t === `py${major}` || t === `py${major}${minor}` || t === cp) return true;
    const m = /^(?:py|cp)(\d)(\d+)$/.exec(t);
    // pyXY and the stable ABI's cpXY run on every later minor version of the same major
    return m !== null && Number(m[1]) === major && Number(m[2]) <= minor && (t.startsWith('py') || tags.abi.includes('abi3'));
  });
  const abiOk = tags.abi.some((t) => t === 'none' || t === 'abi3' || t === cp);
  const platOk = tags.platform.some((t) => t === 'any' || t === `linux_${arch}` || new RegExp(`^manylinux(1|2010|2014|_\\d+_\\d+)_${arch}$`).test(t));
  return pyOk && abiOk && platOk;
}
