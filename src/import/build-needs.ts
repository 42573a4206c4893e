import type { Env } from '../metadata/model.js';
import { parseRequirement } from './pep508.js';

// What a wheel's build needs from its builder env. weld builds with no isolation and no
// index (recipes/python-wheel.sh), so the PEP 517 backend and every [build-system]
// requirement must be a Debian package of the env.

/** PEP 517 backend module → the Debian package that provides it (bookworm's names). */
const BACKEND_DEBS: Record<string, string> = {
  setuptools: 'python3-setuptools',
  flit_core: 'flit',
  flit: 'flit',
  hatchling: 'python3-hatchling',
  'poetry.core': 'python3-poetry-core',
  'pdm.backend': 'python3-pdm-backend',
  'pdm.pep517': 'python3-pdm-pep517',
  mesonpy: 'python3-mesonpy',
  scikit_build_core: 'python3-scikit-build-core',
  maturin: 'python3-maturin',
  'sipbuild.api': 'python3-sipbuild',
  'jupyter_packaging': 'python3-jupyter-packaging',
  whey: 'python3-whey',
};

/** [build-system] requires (normalised project names) → Debian packages; a missing one is the env's concern. */
const BUILD_REQUIRE_DEBS: Record<string, string> = {
  setuptools: 'python3-setuptools',
  wheel: 'python3-wheel',
  cython: 'cython3',
  'setuptools-scm': 'python3-setuptools-scm',
  'flit-core': 'flit',
  hatchling: 'python3-hatchling',
  'hatch-vcs': 'python3-hatch-vcs',
  'hatch-fancy-pypi-readme': 'python3-hatch-fancy-pypi-readme',
  'poetry-core': 'python3-poetry-core',
  'pdm-backend': 'python3-pdm-backend',
  'meson-python': 'python3-mesonpy',
  'scikit-build-core': 'python3-scikit-build-core',
  maturin: 'python3-maturin',
  'setuptools-rust': 'python3-setuptools-rust',
  cffi: 'python3-cffi',
  pybind11: 'pybind11-dev',
  numpy: 'python3-numpy',
  'oldest-supported-numpy': 'python3-numpy',
  'extension-helpers': 'python3-extension-helpers',
  'calver': 'python3-calver',
};

/** Debian packages each recipe calls for, beyond what every builder env has. */
export const RECIPE_DEBS: Record<string, string[]> = {
  'python-wheel': ['python3-pip'],
  'autotools-pack': ['make', 'autoconf', 'automake', 'libtool'],
  'cmake-pack': ['cmake'],
  'meson-pack': ['meson', 'ninja-build'],
};

/** The Debian packages an env has: its list, and when locked, everything its lock pulled in. */
export function envDebs(env: Env): Set<string> {
  return new Set([...env.packages.map((p) => p.replace(/:.*$/, '')), ...(env.lock?.debs ?? []).map((d) => d.name)]);
}

export interface MissingDeb {
  /** what needs it: the backend module or a build requirement */
  what: string;
  deb: string;
}

/** What a wheel's build needs that `env` lacks, each with the Debian package that provides it. */
export function missingBuildDebs(opts: { backend: string; buildRequires: string[]; env: Env }): MissingDeb[] {
  const have = envDebs(opts.env);
  const out: MissingDeb[] = [];
  const mod = opts.backend.split(':')[0]!;
  const backendKey = Object.keys(BACKEND_DEBS)
    .filter((k) => mod === k || mod.startsWith(`${k}.`))
    .sort((a, b) => b.length - a.length)[0];
  const backendDeb = backendKey ? BACKEND_DEBS[backendKey] : undefined;
  if (backendDeb === undefined) out.push({ what: `build backend ${opts.backend}`, deb: '(no Debian package known to weld; package the backend, or build another way)' });
  else if (!have.has(backendDeb)) out.push({ what: `build backend ${opts.backend}`, deb: backendDeb });
  for (const r of opts.buildRequires) {
    const parsed = parseRequirement(r);
    if (!parsed.ok) continue;
    const deb = BUILD_REQUIRE_DEBS[parsed.value.key];
    if (deb && deb !== backendDeb && !have.has(deb)) out.push({ what: `build requirement ${parsed.value.key}`, deb });
  }
  return out;
}

/** What a recipe needs that `env` lacks. */
export function missingRecipeDebs(opts: { recipe: string; env: Env }): MissingDeb[] {
  const have = envDebs(opts.env);
  return (RECIPE_DEBS[opts.recipe] ?? []).filter((d) => !have.has(d)).map((deb) => ({ what: `recipe ${opts.recipe}`, deb }));
}
