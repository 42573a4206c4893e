import path from 'node:path';
import { UsageError, type WeldError } from '../core/errors.js';
import { err, ok, type Result } from '../core/result.js';
import type { Metadata, Target } from '../metadata/model.js';
import type { ComposedImage } from '../compose/image/compose.js';
import type { ComposedIndex } from '../compose/image/image-index.js';
import type { Store } from '../store/store.js';
import { isMatrix } from '../metadata/targets.js';
import type { BuildSession } from '../session/session.js';
import type { ImageEvent } from '../compose/image/events.js';
import { METADATA_OPTIONS } from './args.js';
import { buildFlags, metadataForRunner, mirrorsFromArgs, RUNNER_OPTION, runnerFromArgs, TARGET_OPTION, targetsFromArgs } from './build-args.js';
import type { VerbModule } from './commands.js';
import { eventLines } from './event-lines.js';
import type { CliIO } from './io.js';
import { asArgument } from './package-names.js';
import { openStoreFromArgs, REMOTE_OPTIONS, STORE_OPTION } from './store-args.js';

// `weld compose image [name]`: the `weld compose` dispatcher hands this module the
// arguments after "image".

export const spec: VerbModule['spec'] = {
  description:
    'Installs the wheels of a compose (metadata/composes/<name>.toml, kind = "image") into\n' +
    'its runtime env\'s image as one more layer, the way an installer would and without\n' +
    'running any of their code, and writes an OCI archive that `podman load` accepts.\n' +
    'The wheels are the builds matching the metadata now (run `weld build` first). The\n' +
    'image is put in the store (a gc root), tagged weld/<name>:<first 12 hex of its\n' +
    'digest> and loaded into podman. Same metadata and builds, same image digest.\n' +
    'With [store] push = true it is pushed to the store remote as image-<name>-<digest12>.',
  options: {
    out: { type: 'string', value: '<file>', description: 'where the OCI archive goes (default: <project>/out/images/<name>.oci.tar; <name>-<target>.oci.tar for each target of a distro with several)' },
    'no-load': { type: 'boolean', description: 'do not load the image into podman' },
    json: { type: 'boolean', description: 'print the result as JSON' },
    ...RUNNER_OPTION,
    ...TARGET_OPTION,
    ...METADATA_OPTIONS,
    ...STORE_OPTION,
    ...REMOTE_OPTIONS,
  },
  positionals: [{ name: 'name' }],
  examples: ['weld compose image python-runtime', 'weld compose image --ref respin --out /tmp/runtime.oci.tar', 'podman run --rm --arch s390x weld/python-runtime:<tag> python3 -c "import yaml"'],
};

const secs = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
const mib = (n: number) => `${(n / (1 << 20)).toFixed(1)} MiB`;

function plainReporter(io: CliIO) {
  return (e: ImageEvent) => {
    if (e.type === 'phase') io.stderr.write(`${e.subject.name}: ${e.data.detail}\n`);
    else io.stderr.write(`${e.subject.name}: ${e.data.file}: ${e.data.files} files\n`);
  };
}

export const run: VerbModule['run'] = async (args, io) => {
  const t0 = performance.now();
  const loaded = await metadataForRunner(args, io);
  if (!loaded.ok) return loaded;
  const metadata = loaded.value;
  const { findCompose } = await import('../compose/select.js');
  // Found here too (composeImage checks again) so a wrong name fails before the store opens.
  const compose = asArgument(findCompose({ metadata, name: args.positionals[0], kind: 'image' }));
  if (!compose.ok) return compose;
  const name = compose.value.name;
  const opened = await openStoreFromArgs(args, io, { create: true, metadata });
  if (!opened.ok) return opened;
  const store = opened.value.store;
  const runner = await runnerFromArgs({ args, io, metadata, store });
  if (!runner.ok) return runner;
  const targets = targetsFromArgs(args, metadata, 'compose image');
  if (!targets.ok) return targets;
  const mine = targets.value.filter((t) => compose.value.targets.includes(t.name));
  if (mine.length === 0) return err(new UsageError(`weld compose image: ${name} is made for ${compose.value.targets.join(', ')}, none of which --target names`));
  const flag = args.options['out'];
  if (typeof flag === 'string' && isMatrix(metadata) && mine.length > 1) return err(new UsageError('weld compose image: --out names one file, and this compose makes one image per target', 'pick one with --target, or leave --out out (out/images/<compose>-<target>.oci.tar)'));
  const asJson = args.options['json'] === true;
  const { openMatrix } = await import('../session/matrix.js');
  const runs = openMatrix({ metadata, targets: mine, packages: (view) => (view.composes.has(name) ? [...view.packages.keys()] : []), store, runner: runner.value, mirrorsDir: mirrorsFromArgs({ args, io, metadata }) });
  const results: Array<ImageStepResult & { target: Target }> = [];
  for (const run of runs) {
    const out = typeof flag === 'string' ? path.resolve(io.cwd, flag) : imageFile(run.metadata, name);
    const r = await imageStep({ io, session: run.session, name, out, json: asJson, load: !args.options['no-load'], buildFlags: buildFlags(args), started: t0 });
    if (!r.ok) return r;
    results.push({ ...r.value, target: run.target });
  }
  const { pushComposed } = await import('./compose-push.js');
  const push = (recordIds: string[]) => pushComposed({ args, io, metadata, store, name, recordIds, json: asJson });
  if (results.length === 1) {
    await push([results[0]!.image.recordId]);
    return ok(results[0]!);
  }
  const index = await indexStep({ io, store, root: metadata.root, name, images: results, json: asJson, load: !args.options['no-load'] });
  if (!index.ok) return index;
  await push([...results.map((r) => r.image.recordId), index.value.recordId]);
  return ok({ index: index.value, images: results.map(({ image: _i, target, ...r }) => ({ ...r, target: target.name })) });
};

/**
 * The OCI image index over a compose's images of several targets, written to
 * out/images/<name>.oci.tar and made a manifest list in podman unless `load` is false.
 */
export async function indexStep(o: { io: CliIO; store: Store; root: string; name: string; images: ReadonlyArray<{ target: Target; image: ComposedImage }>; json: boolean; load: boolean }): Promise<Result<ComposedIndex, WeldError>> {
  const { composeImageIndex } = await import('../compose/image/image-index.js');
  const out = path.join(o.root, 'out', 'images', `${o.name}.oci.tar`);
  const r = await composeImageIndex({ store: o.store, name: o.name, images: o.images.map(({ target, image }) => ({ target, image })), out });
  if (!r.ok) return r;
  let loaded: boolean | undefined;
  if (o.load) {
    const { Podman } = await import('../podman/podman.js');
    const podman = Podman.open({ root: o.root, arch: o.images[0]!.target.arch, env: o.io.env });
    if (!podman.ok) return podman;
    const { loadImageIndex } = await import('../podman/images.js');
    const l = await loadImageIndex({ tag: r.value.tag, images: o.images.map(({ image }) => image.tag), podman: podman.value });
    if (!l.ok) return l;
    loaded = l.value.loaded;
  }
  if (o.json) {
    const lines = eventLines(o.io);
    lines.summary({ subject: { kind: 'compose', name: o.name }, data: { ...r.value, loaded: loaded ?? null } });
    lines.end();
  } else {
    const arches = r.value.images.map((i) => `${i.target} (${i.arch})`).join(', ');
    o.io.stdout.write(`${o.name}: image index ${r.value.index} over ${arches} → ${path.relative(o.io.cwd, out) || out}\n`);
    if (loaded !== undefined) {
      o.io.stdout.write(`${o.name}: ${r.value.tag} ${loaded ? 'made a manifest list in podman' : 'already in podman'}; podman manifest inspect ${r.value.tag} lists it\n`);
      // podman 4.3 does not pick from a local manifest list for `run --arch`: name each image.
      for (const i of r.value.images) o.io.stdout.write(`${o.name}: podman run --arch ${i.arch} ${i.tag}\n`);
    }
  }
  return ok(r.value);
}

/** Where an image compose's archive goes: out/images/<compose>.oci.tar, with the target in the name in a matrix. */
export function imageFile(view: Metadata, name: string): string {
  const target = view.distro.viewOf;
  return path.join(view.root, 'out', 'images', target ? `${name}-${target}.oci.tar` : `${name}.oci.tar`);
}

/** What `weld up` reports of an image. */
export interface ImageStepResult {
  tag: string;
  file: string;
  manifest: string;
  /** what was composed (for the image index of several targets) */
  image: ComposedImage;
}

/** The image of a compose from the session's current builds, loaded into podman unless `load` is false; printed as `weld compose image` prints it. */
export async function imageStep(o: { io: CliIO; session: BuildSession; name: string; out: string; json: boolean; load: boolean; buildFlags: string[]; started?: number }): Promise<Result<ImageStepResult, WeldError>> {
  const { io, session, name, out } = o;
  const { metadata, store } = session.o;
  if (!store) throw new Error('bug: an image from a session without a store');
  const asJson = o.json;
  const t0 = o.started ?? performance.now();
  const { findCompose } = await import('../compose/select.js');
  const compose = findCompose({ metadata, name, kind: 'image' });
  if (!compose.ok) return compose;
  const { composeImage } = await import('../compose/image/compose.js');
  const lines = asJson ? eventLines(io) : undefined;
  const r = await composeImage({ metadata, store, session, name, buildFlags: o.buildFlags, out, onEvent: lines ? lines.write : plainReporter(io), onWarning: (message) => void io.stderr.write(`weld: warning: ${message}\n`) });
  lines?.end();
  if (!r.ok) return r;
  const image = r.value;
  const composeTime = secs(t0);
  let load: { loaded: boolean; time: string } | undefined;
  if (o.load) {
    const env = metadata.envs.get(compose.value.env!)!;
    const { Podman } = await import('../podman/podman.js');
    const podman = Podman.open({ root: metadata.root, arch: env.arch, env: io.env });
    if (!podman.ok) return podman;
    const { loadImage } = await import('../podman/images.js');
    const t1 = performance.now();
    const l = await loadImage({ tag: image.tag, image, blobs: store, podman: podman.value });
    if (!l.ok) return l;
    load = { loaded: l.value.loaded, time: secs(t1) };
  }
  // What `weld up` reports of this step.
  const result: ImageStepResult = { tag: image.tag, file: image.out, manifest: image.manifest, image };
  if (lines) {
    lines.summary({ subject: { kind: 'compose', name }, data: { ...image, loaded: load ? load.loaded : null, seconds: Number(((performance.now() - t0) / 1000).toFixed(2)) } });
    return ok(result);
  }
  io.stdout.write(`${image.compose}: ${image.wheels.length} wheels, ${image.layer.files} files in a ${mib(image.layer.size)} layer; image ${image.manifest} composed in ${composeTime}\n`);
  io.stdout.write(`${image.compose}: ${path.relative(io.cwd, image.out) || image.out}\n`);
  if (load) io.stdout.write(`${image.compose}: ${image.tag} ${load.loaded ? `loaded into podman in ${load.time}` : 'already in podman'}\n`);
  return ok(result);
}
