import type { Metadata, Target } from '../metadata/model.js';
import { isMatrix, pickTargets, targetView } from '../metadata/targets.js';
import { withTestNeeds } from '../plan/test-key.js';
import { matrixName } from '../session/matrix.js';
import { jobTargets } from './package-states.js';

// What a job builds, per target. In a distro with several targets, a job builds every
// target (or those its `targets` names), and its package states, edges and events are keyed
// `<package>@<target>` as `weld build` names them; a single-target distro keys them by the
// package alone, as before.

/** The build graph as a job's states see it: its keys and what each requires. */
export interface JobGraph {
  requires(key: string): readonly string[];
}

export interface JobPlan {
  matrix: boolean;
  /** every state key the job has: its packages (per target), what they require and what their tests install */
  keys: string[];
  /** the packages to mirror (each once, whatever the targets) */
  packages: string[];
  graph: JobGraph;
  perTarget: Array<{ target: Target; view: Metadata; asked: string[]; closure: string[] }>;
}

export async function planJob(o: { metadata: Metadata; all: boolean; packages: string[]; composes: string[]; targets?: string[] }): Promise<JobPlan> {
  const { metadata } = o;
  const matrix = isMatrix(metadata);
  const picked = pickTargets(metadata, o.targets ?? []);
  // Checked at submission; a resumed job whose metadata lost a target builds the rest.
  const targets = picked.ok ? picked.targets : metadata.distro.targets.filter((t) => o.targets?.includes(t.name));
  const perTarget: JobPlan['perTarget'] = [];
  for (const target of targets) {
    const view = targetView(metadata, target.name);
    const asked = (await jobTargets({ metadata: view, all: o.all, packages: o.packages, composes: o.composes })).filter((p) => view.packages.has(p));
    if (asked.length === 0) continue;
    perTarget.push({ target, view, asked, closure: view.graph.subgraph(withTestNeeds(view, asked)).order() });
  }
  const keys = perTarget.flatMap((t) => (matrix ? t.closure.map((p) => matrixName(p, t.target.name)) : t.closure));
  const packages = [...new Set(perTarget.flatMap((t) => t.closure))];
  const byTarget = new Map(perTarget.map((t) => [t.target.name, t.view]));
  const graph: JobGraph = matrix
    ? {
        requires: (key) => {
          const at = key.lastIndexOf('@');
          const view = byTarget.get(key.slice(at + 1));
          return view ? view.graph.requires(key.slice(0, at)).map((r) => matrixName(r, key.slice(at + 1))) : [];
        },
      }
    : { requires: (key) => metadata.graph.requires(key) };
  return { matrix, keys, packages, graph, perTarget };
}

/** The package a state key is of: `pyyaml@s390x-py311` → pyyaml. */
export function keyPackage(key: string, matrix: boolean): string {
  return matrix ? key.slice(0, key.lastIndexOf('@')) : key;
}
