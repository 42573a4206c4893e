import { wheelTags, type WheelName } from '../wheel/name.js';

/**
 * Whether a wheel's compatibility tags admit CPython `python` (e.g. 3.11) on Linux
 * `arch` (glibc): the python, abi and platform tag sets must each have a match.
 */
/** Debian arch names → the machine names wheel platform tags use. */
const WHEEL_ARCH: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', ppc64el: 'ppc64le', i386: 'i686', armhf: 'armv7l' };

/** The glibc each legacy manylinux name stands for (PEP 600). */
const LEGACY: Record<string, [number, number]> = { '1': [2, 5], '2010': [2, 12], '2014': [2, 17] };

/**
 * Whether the platform tag's glibc is at most the runtime's: a manylinux_2_38 wheel from a
 * newer builder would install on bookworm (glibc 2.36) and fail at import.
 */
function glibcAllows(tag: string, glibc: [number, number] | undefined): boolean {
  if (!glibc) return true;
  const m = /^manylinux(?:_(\d+)_(\d+)|(1|2010|2014))_/.exec(tag);
  if (!m) return true;
  const [major, minor] = m[3] ? LEGACY[m[3]]! : [Number(m[1]), Number(m[2])];
  return major < glibc[0] || (major === glibc[0] && minor <= glibc[1]);
}

export function wheelRunsOn(opts: { name: WheelName; python: string; arch: string; glibc?: [number, number] }): boolean {
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
  const platOk = tags.platform.some((t) => t === 'any' || t === `linux_${arch}` || (new RegExp(`^manylinux(1|2010|2014|_\\d+_\\d+)_${arch}$`).test(t) && glibcAllows(t, opts.glibc)));
  return pyOk && abiOk && platOk;
}
