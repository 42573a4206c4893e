import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './project.js';

// Real ELF files for the wheel repair tests: libdemo.so.1 in a fake dependency prefix
// (a weld pack's output) and a CPython extension linked against it, packed into a wheel
// the way a build backend would. Built with the host's gcc and Debian python3.

// Compiled into dist/ for the benchmark, REPO_ROOT is dist/: the fixture sources stay in the tree.
const ROOT = existsSync(path.join(REPO_ROOT, 'recipes')) ? REPO_ROOT : path.dirname(REPO_ROOT);
export const FIXTURE = path.join(ROOT, 'test/fixtures/weldcext');
/** Debian's python: it has python3-pyelftools, Python.h and pip (a version manager's python may not) */
export const PYTHON = '/usr/bin/python3';

function py(expr: string): string {
  return execFileSync(PYTHON, ['-c', `import sysconfig; print(${expr})`], { encoding: 'utf8' }).trim();
}

/** The host's wheel platform tag (linux_x86_64) and extension suffix. */
export function hostTags(): { plat: string; suffix: string; include: string; arch: string } {
  const plat = py('sysconfig.get_platform().replace("-", "_").replace(".", "_")');
  return { plat, suffix: py('sysconfig.get_config_var("EXT_SUFFIX")'), include: py('sysconfig.get_paths()["include"]'), arch: plat.replace(/^linux_/, '') };
}

/** Builds <dir>/prefix/lib/libdemo.so.1 (+ the libdemo.so link). */
export function buildDemoLib(dir: string, soname = 'libdemo.so.1'): string {
  const prefix = path.join(dir, 'prefix');
  mkdirSync(path.join(prefix, 'lib'), { recursive: true });
  execFileSync('gcc', ['-shared', '-fPIC', '-O2', `-Wl,-soname,${soname}`, path.join(FIXTURE, 'demo.c'), '-o', path.join(prefix, 'lib', soname)]);
  symlinkSync(soname, path.join(prefix, 'lib', soname.replace(/\.so\..*$/, '.so')));
  return prefix;
}

/** Builds the weldcext wheel against `prefix` into <dir>/wheels; returns its path. */
export function buildDemoWheel(opts: { dir: string; prefix: string; getrandom?: boolean; lib?: string; extraLibs?: string[]; platlib?: boolean }): string {
  const t = hostTags();
  const stage = path.join(opts.dir, 'stage');
  // platlib: the package sits under weldcext-1.0.data/platlib/, which pip unpacks into site-packages
  const pkg = path.join(stage, opts.platlib ? 'weldcext-1.0.data/platlib/weldcext' : 'weldcext');
  mkdirSync(pkg, { recursive: true });
  cpSync(path.join(FIXTURE, 'weldcext/__init__.py'), path.join(pkg, '__init__.py'));
  const cflags = ['-shared', '-fPIC', '-O2', `-I${t.include}`, ...(opts.getrandom ? ['-DWITH_GETRANDOM'] : [])];
  execFileSync('gcc', [...cflags, path.join(FIXTURE, '_ext.c'), '-o', path.join(pkg, `_ext${t.suffix}`), `-L${path.join(opts.prefix, 'lib')}`, `-l${opts.lib ?? 'demo'}`, '-Wl,--no-as-needed', ...(opts.extraLibs ?? [])]);
  const out = path.join(opts.dir, 'wheels');
  mkdirSync(out, { recursive: true });
  return execFileSync(PYTHON, [path.join(FIXTURE, 'mkwheel.py'), stage, out, 'weldcext', '1.0', `cp311-cp311-${t.plat}`], { encoding: 'utf8' }).trim();
}

/** A pack recipe that builds libdemo.so.1 into its prefix (for real builds with the local runner). */
export const DEMO_PACK_RECIPE = `#!/bin/sh
. "$(dirname "$0")/lib/common.sh"
mkdir -p "$WELD_OUT/prefix/lib"
gcc -shared -fPIC -O2 -Wl,-soname,libdemo.so.1 demo.c -o "$WELD_OUT/prefix/lib/libdemo.so.1"
ln -s libdemo.so.1 "$WELD_OUT/prefix/lib/libdemo.so"
`;

/** A wheel recipe linking the weldcext extension against the pack's libdemo, with Debian's python for Python.h; `getrandom` makes it need GLIBC_2.25. */
export function cextWheelRecipe(o: { getrandom?: boolean } = {}): string {
  return `#!/bin/sh
. "$(dirname "$0")/lib/common.sh"
PY=/usr/bin/python3
inc=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
suffix=$($PY -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
plat=$($PY -c 'import sysconfig; print(sysconfig.get_platform().replace("-", "_").replace(".", "_"))')
mkdir -p stage/weldcext "$WELD_OUT/wheels"
cp weldcext/__init__.py stage/weldcext/
gcc -shared -fPIC -O2${o.getrandom ? ' -DWITH_GETRANDOM' : ''} -I"$inc" _ext.c -o "stage/weldcext/_ext$suffix" -ldemo
$PY mkwheel.py stage "$WELD_OUT/wheels" weldcext 1.0 "cp311-cp311-$plat"
`;
}
