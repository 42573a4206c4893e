import { sha256Of, type Digest } from '../core/digest.js';
import type { Metadata, Package } from '../metadata/model.js';
import { hasTest } from '../metadata/test-env.js';

// A wheel's test has a key of its own (DESIGN.md "Tested on its arch"): a changed test
// spec reruns the test, not the build, and a rebuilt-identical wheel keeps its verdict.

/** Everything that can change a test's verdict. */
export interface TestKeyInputs {
  package: string;
  /** the wheels under test (the build's outputs) */
  wheels: Digest[];
  /** the source tree the commands may read */
  sourceTree: string;
  /** output digests of every other wheel installed for the test */
  requirements: Record<string, Digest[]>;
  /** the runtime env image (podman) or the host description (local) */
  envImage: Digest;
  arch: string;
  spec: { imports: string[]; commands: string[]; requires: string[] };
  /** the test step's program: how wheels are installed and the spec is run */
  program: Digest;
}

/** sha256 of the canonical JSON of the inputs, the wheels sorted (test-key.test.ts checks the text is canonicalJson's). */
export function testKey(i: TestKeyInputs): Digest {
  return sha256Of(JSON.stringify(keyDocument(i)));
}

/**
 * The inputs with their keys already in canonical (sorted) order, so the native serializer
 * gives canonicalJson's text without its replacer, as cache-key.ts does: a no-op build of
 * 1,000 wheels computes 1,000 test keys, and the replacer was most of that.
 */
function keyDocument(i: TestKeyInputs): unknown {
  const names = Object.keys(i.requirements);
  const requirements: Record<string, Digest[]> = {};
  for (const n of names.length > 1 ? names.sort() : names) requirements[n] = i.requirements[n]!;
  return {
    arch: i.arch,
    envImage: i.envImage,
    package: i.package,
    program: i.program,
    requirements,
    sourceTree: i.sourceTree,
    spec: { commands: i.spec.commands, imports: i.spec.imports, requires: i.spec.requires },
    v: 1,
    wheels: i.wheels.length > 1 ? [...i.wheels].sort() : i.wheels,
  };
}

/**
 * The wheels a package's test installs besides its own: its run-time requirements and
 * those of its [test] requires, transitively, the package itself left out (run-time
 * requirements may form cycles: each name is visited once).
 */
export function testClosure(metadata: Pick<Metadata, 'packages'>, pkg: Package): string[] {
  const seen = new Set<string>([pkg.name]);
  const queue = [...pkg.runtimeRequires, ...pkg.test.requires];
  while (queue.length) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    queue.push(...(metadata.packages.get(name)?.runtimeRequires ?? []));
  }
  seen.delete(pkg.name);
  return [...seen].sort();
}

/**
 * The targets plus what their tests install: a wheel is tested with the current builds
 * of its run-time requirements, so a build of it builds them too. The same array comes
 * back when nothing is added (callers cache by identity).
 */
export function withTestNeeds(metadata: Pick<Metadata, 'packages' | 'graph'>, targets: string[]): string[] {
  const all = new Set(targets);
  const added: string[] = [];
  let frontier = targets;
  while (frontier.length) {
    const next: string[] = [];
    for (const name of metadata.graph.subgraph(frontier).order()) {
      const pkg = metadata.packages.get(name);
      if (!pkg || pkg.kind !== 'wheel' || !hasTest(pkg.test)) continue;
      for (const r of testClosure(metadata, pkg)) {
        if (all.has(r)) continue;
        all.add(r);
        added.push(r);
        next.push(r);
      }
    }
    frontier = next;
  }
  return added.length ? [...targets, ...added.sort()] : targets;
}
