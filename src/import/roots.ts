import type { WeldError } from '../core/errors.js';
import { ok, type Result } from '../core/result.js';
import { isValidProjectName, normalizeName } from '../metadata/names.js';
import { describeCandidate } from './candidate.js';
import type { Unresolved } from './errors.js';
import { evaluateMarker } from './pep508.js';
import { readProjectInfo } from './project-info.js';
import { readRequirementsFiles } from './requirements.js';
import type { RootDemand } from './resolve.js';
import type { DebianSource } from './sources/debian.js';
import { readSourceTree } from './source-tree.js';
import type { Target } from './targets.js';

// What the user asks for, as the resolver's roots: the lines of requirements files, or
// Debian source packages (`weld import debian <source>…`) pinned to their newest version.

export interface RequirementRoots {
  roots: RootDemand[];
  pre: boolean;
  indexUrl?: string;
  warnings: string[];
}

export function requirementRoots(opts: { files: string[]; cwd: string; targets: Target[] }): Result<RequirementRoots, WeldError> {
  const roots: RootDemand[] = [];
  const warnings: string[] = [];
  const files = readRequirementsFiles({ files: opts.files, cwd: opts.cwd });
  if (!files.ok) return files;
  warnings.push(...files.value.warnings);
  for (const l of files.value.lines) {
    // a requirement whose marker holds on no target is not one
    if (l.req.marker && !opts.targets.some((t) => evaluateMarker({ marker: l.req.marker!, env: t.markers, extras: [] }))) {
      warnings.push(`${l.at}: ${l.req.name} is left out: its marker holds on no builder env (${opts.targets.map((t) => `${t.env.name}: Python ${t.python} on ${t.markers['platform_machine']}`).join('; ')})`);
      continue;
    }
    roots.push({ key: l.req.key, name: l.req.name, specifier: l.req.specifier, extras: l.req.extras, by: `${l.constraint ? 'constraint ' : ''}${l.at}`, hashes: l.hashes, constraint: l.constraint });
  }
  return ok({ roots, pre: files.value.pre, ...(files.value.indexUrl ? { indexUrl: files.value.indexUrl } : {}), warnings });
}

export async function debianRoots(opts: { sources: string[]; debian: DebianSource; suites: string[]; onPhase?: (detail: string) => void }): Promise<Result<{ roots: RootDemand[]; unresolved: Unresolved[] }, WeldError>> {
  const { debian } = opts;
  const roots: RootDemand[] = [];
  const unresolvedRoots: Unresolved[] = [];
  for (const src of opts.sources) {
    opts.onPhase?.(`looking up Debian source ${src}`);
    const found = await debian.bySource(src);
    if (!found.ok) return found;
    if (found.value.binaries.length && !found.value.binaries.some((b) => b.startsWith('python3-'))) {
      unresolvedRoots.push({ project: src, wanted: '', by: [`debian ${src}`], why: `it builds no python3-* package (${found.value.binaries.slice(0, 5).join(', ')}): weld import debian takes the sources of Python projects; a library becomes a pack when a wheel's Build-Depends names it` });
      continue;
    }
    const best = found.value.candidates.at(-1);
    if (!best) {
      unresolvedRoots.push({ project: src, wanted: '', by: [`debian ${src}`], why: found.value.skipped.length ? `no usable version: ${found.value.skipped.join('; ')}` : `no source package "${src}" in ${opts.suites.join(', ')}` });
      continue;
    }
    // the project's own name: its metadata's when the .orig says, else the binary python3-<name>
    const bytes = await debian.fetch(best);
    const tree = bytes.ok ? await readSourceTree({ bytes: bytes.value, label: describeCandidate(best) }) : bytes;
    if (!tree.ok) {
      unresolvedRoots.push({ project: src, wanted: `==${best.version}`, by: [`debian ${src}`], why: tree.error.message });
      continue;
    }
    const named = readProjectInfo(tree.value).name;
    const binary = found.value.binaries.find((b) => b.startsWith('python3-'));
    const key = normalizeName(named && isValidProjectName(named) ? named : binary ? binary.slice('python3-'.length) : src);
    roots.push({ key, name: key, specifier: `==${best.version}`, extras: [], by: `debian ${src}`, hashes: [], constraint: false, debianSource: src });
  }

  return ok({ roots, unresolved: unresolvedRoots });
}
