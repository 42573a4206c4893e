import type { BuildRecord } from '../store/records.js';

// An in-toto Statement v1 with a SLSA provenance v1 predicate, one per build.
// https://slsa.dev/spec/v1.0/provenance

const hex = (d: string) => d.replace(/^sha256:/, '');

export function provenanceStatement(opts: { record: BuildRecord; distroCommit: string; vars: Record<string, string>; kind: string }): string {
  const r = opts.record;
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: r.outputs.map((o) => ({ name: o.name, digest: { sha256: hex(o.digest) } })),
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://weld.invalid/build/v1',
        externalParameters: { package: r.package, version: r.version, release: r.release, kind: opts.kind, arch: r.arch, recipe: r.recipe.name, vars: opts.vars, ...(r.repair ? { repairPolicy: r.repair.policy } : {}) },
        internalParameters: { cacheKey: r.cacheKey },
        resolvedDependencies: [
          { name: 'source', uri: `mirrors/${r.package}.git`, digest: { gitTree: r.sourceTree, gitCommit: opts.distroCommit } },
          { name: `recipe:${r.recipe.name}`, digest: { sha256: hex(r.recipe.digest) } },
          { name: 'env-image', digest: { sha256: hex(r.envImage) } },
          ...(r.repair ? [{ name: 'repair-program', digest: { sha256: hex(r.repair.program) } }] : []),
          ...Object.entries(r.dependencies).flatMap(([dep, ds]) => ds.map((d) => ({ name: `dependency:${dep}`, digest: { sha256: hex(d) } }))),
        ],
      },
      runDetails: {
        builder: { id: `weld/${r.runner}`, version: { weld: r.weldVersion } },
        metadata: { invocationId: r.cacheKey, startedOn: r.timings.startedAt, finishedOn: r.timings.finishedAt },
        // The repair report: which libraries were grafted and which symbol versions set each tag.
        ...(r.repair
          ? {
              byproducts: [
                {
                  name: 'repair.json',
                  ...(r.repair.report ? { digest: { sha256: hex(r.repair.report) } } : {}),
                  annotations: { policy: r.repair.policy, wheels: r.repair.wheels },
                },
              ],
            }
          : {}),
      },
    },
  };
  return JSON.stringify(statement, null, 2) + '\n';
}
