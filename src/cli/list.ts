import { ok } from '../core/result.js';
import type { Package, Upstream } from '../metadata/model.js';
import { METADATA_OPTIONS } from './args.js';
import type { VerbModule } from './commands.js';
import { json, table } from './format.js';
import { openFromArgs } from './metadata-args.js';

export const spec: VerbModule['spec'] = {
  options: {
    ...METADATA_OPTIONS,
    json: { type: 'boolean', description: 'print the packages as a JSON array' },
  },
  positionals: [],
};

export function describeUpstream(u: Upstream): string {
  switch (u.kind) {
    case 'git':
      return `git ${u.url} ${u.tag ?? u.commit}`;
    case 'tarball':
      return `tarball ${u.url}`;
    case 'debian':
      return `debian ${u.source}`;
  }
}

/** The JSON form of a package: the model, with nothing derived left out. */
export function packageJson(p: Package): Record<string, unknown> {
  return { ...p };
}

export const run: VerbModule['run'] = async (args, io) => {
  const loaded = await openFromArgs(args, io);
  if (!loaded.ok) return loaded;
  const pkgs = [...loaded.value.packages.values()];
  if (args.options['json']) {
    io.stdout.write(json(pkgs.map(packageJson)));
    return ok(undefined);
  }
  const rows = [['NAME', 'VERSION', 'KIND', 'UPSTREAM', 'REQUIRES']];
  for (const p of pkgs) rows.push([p.displayName, `${p.version}-${p.release}`, p.kind, describeUpstream(p.upstream), p.requires.join(', ')]);
  io.stdout.write(table(rows));
  return ok(undefined);
};
