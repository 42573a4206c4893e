import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../core/digest.js';

/** A recipe and the lib files it sources, exactly as hashed and as run. */
export interface RecipeBundle {
  name: string;
  /** path under recipes/ → content */
  files: Record<string, string>;
  /** the canonical JSON whose digest is the recipe digest; stored as a blob */
  json: string;
}

// `. "$(dirname "$0")/lib/common.sh"`: any mention of lib/<file>.sh counts as a source.
const SOURCED = /lib\/([A-Za-z0-9_.-]+\.sh)/g;

/** Reads recipes/<name>.sh and the recipes/lib/*.sh it sources, from wherever the metadata came from. */
export async function loadRecipe(opts: { name: string; read: (file: string) => Promise<string | undefined> }): Promise<RecipeBundle | undefined> {
  const main = await opts.read(`recipes/${opts.name}.sh`);
  if (main === undefined) return undefined;
  const files: Record<string, string> = { [`${opts.name}.sh`]: main };
  const queue = [main];
  while (queue.length) {
    for (const m of queue.pop()!.matchAll(SOURCED)) {
      const rel = `lib/${m[1]!}`;
      if (rel in files) continue;
      const text = await opts.read(`recipes/${rel}`);
      if (text === undefined) continue;
      files[rel] = text;
      queue.push(text);
    }
  }
  return { name: opts.name, files, json: canonicalJson({ recipe: opts.name, files }) };
}

/** Writes the bundle under `dir` and returns the script's path. */
export async function writeRecipe(opts: { bundle: RecipeBundle; dir: string }): Promise<string> {
  for (const [rel, text] of Object.entries(opts.bundle.files)) {
    await mkdir(path.dirname(path.join(opts.dir, rel)), { recursive: true });
    await writeFile(path.join(opts.dir, rel), text, { mode: 0o755 });
  }
  return path.join(opts.dir, `${opts.bundle.name}.sh`);
}

/** The wheel repair step's files (recipes/lib/), run in the builder after every wheel recipe. */
export const REPAIR_FILES = ['repair-step.sh', 'repair_wheel.py', 'manylinux.py'];

/** The wheel test step's files (recipes/lib/), run in the runtime env after a wheel's build. */
export const TEST_FILES = ['test-step.sh', 'test_wheel.py'];

/** The repair step as a bundle (hashed and written like a recipe); undefined when recipes/lib/ lacks any of its files. */
export function loadRepairStep(opts: { read: (file: string) => Promise<string | undefined> }): Promise<RecipeBundle | undefined> {
  return loadStep({ name: 'repair-step', key: 'repairStep', files: REPAIR_FILES, read: opts.read });
}

/** The test step as a bundle; undefined when recipes/lib/ lacks any of its files. */
export function loadTestStep(opts: { read: (file: string) => Promise<string | undefined> }): Promise<RecipeBundle | undefined> {
  return loadStep({ name: 'test-step', key: 'testStep', files: TEST_FILES, read: opts.read });
}

async function loadStep(o: { name: string; key: string; files: string[]; read: (file: string) => Promise<string | undefined> }): Promise<RecipeBundle | undefined> {
  const files: Record<string, string> = {};
  for (const f of o.files) {
    const text = await o.read(`recipes/lib/${f}`);
    if (text === undefined) return undefined;
    files[f] = text;
  }
  return { name: o.name, files, json: canonicalJson({ [o.key]: o.name, files }) };
}
