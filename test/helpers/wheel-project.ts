import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildProject, type BuildProject } from './build-project.js';
import { REPO_ROOT } from './project.js';

/** A Python project the test backend (test/fixtures/weldhello/weld_backend.py) builds into a pure wheel. */
export interface FixtureWheel {
  /** the weld package name (normalised) */
  pkg: string;
  /** the project name as its METADATA writes it, e.g. MarkupSafe */
  name: string;
  version: string;
  requiresPython?: string;
  requiresDist?: string[];
  /** weld packages needed at run time ([runtime] requires) */
  runtime?: string[];
}

/**
 * A build project whose packages are the given wheels, mirrored and ready to build with
 * the local runner, plus metadata/composes/<name>.toml for each compose given.
 */
export async function wheelProject(opts: { wheels: FixtureWheel[]; composes?: Record<string, string> }): Promise<BuildProject> {
  const backend = readFileSync(path.join(REPO_ROOT, 'test/fixtures/weldhello/weld_backend.py'), 'utf8');
  const project = await buildProject({
    packages: opts.wheels.map((w) => ({
      name: w.pkg,
      files: {
        'pyproject.toml': `[build-system]\nrequires = []\nbuild-backend = "weld_backend"\nbackend-path = ["."]\n`,
        'weld_backend.py': backend,
        'wheel.json': JSON.stringify({ name: w.name, version: w.version, requires_python: w.requiresPython ?? '', requires_dist: w.requiresDist ?? [] }),
      },
    })),
  });
  for (const w of opts.wheels) {
    // Run-time requirements are not mirror inputs: adding them needs no re-mirror.
    if (w.runtime?.length) appendFileSync(path.join(project.root, 'metadata/packages', `${w.pkg}.toml`), `\n[runtime]\nrequires = [${w.runtime.map((r) => `"${r}"`).join(', ')}]\n`);
  }
  mkdirSync(path.join(project.root, 'metadata/composes'), { recursive: true });
  for (const [name, text] of Object.entries(opts.composes ?? {})) writeFileSync(path.join(project.root, 'metadata/composes', `${name}.toml`), text);
  return project;
}
