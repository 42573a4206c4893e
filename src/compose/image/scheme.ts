import type { Env } from '../../metadata/model.js';

/**
 * Where an installer puts each part of a wheel, as paths inside the image (no leading
 * slash). Debian's python3 reads /usr/local/lib/python3.X/dist-packages and leaves
 * /usr/lib/python3/dist-packages to dpkg, so weld installs where pip would as root.
 */
export interface InstallScheme {
  purelib: string;
  platlib: string;
  scripts: string;
  /** headers go into <headers>/<distribution> */
  headers: string;
  data: string;
  /** the interpreter scripts start with */
  interpreter: string;
  /** e.g. 3.11 */
  python: string;
}

export function debianScheme(python: string): InstallScheme {
  const site = `usr/local/lib/python${python}/dist-packages`;
  return { purelib: site, platlib: site, scripts: 'usr/local/bin', headers: `usr/local/include/python${python}`, data: 'usr/local', interpreter: '/usr/bin/python3', python };
}

/** The glibc of a runtime env, from its lock's libc6 (`2.36-9+deb12u14` → [2, 36]); undefined without one. */
export function glibcOfEnv(env: Env): [number, number] | undefined {
  const v = env.lock?.debs.find((d) => d.name === 'libc6')?.version;
  const m = v ? /^(?:\d+:)?(\d+)\.(\d+)/.exec(v) : null;
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The Python of a runtime env, from its lock: the version of its python3.X package. */
export function pythonOfEnv(env: Env): string | undefined {
  for (const d of env.lock?.debs ?? []) {
    const m = /^(?:lib)?python(3\.\d+)(?:-minimal)?$/.exec(d.name);
    if (m) return m[1]!;
  }
  return undefined;
}
