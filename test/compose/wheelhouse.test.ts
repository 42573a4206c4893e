import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStream, summaryData } from '../helpers/event-lines.js';
import { openStore } from '../../src/store/store.js';
import type { ComposeRecord } from '../../src/store/records.js';
import type { BuildProject } from '../helpers/build-project.js';
import { git, initRepo } from '../helpers/git.js';
import { REPO_ROOT, weld } from '../helpers/project.js';
import { wheelProject } from '../helpers/wheel-project.js';

// Real builds (local runner, the real python-wheel recipe) into a real store, then the
// real `weld compose wheelhouse`; the written index is parsed and checked link by link.

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Every file under dir (relative path → bytes), sorted. */
function tree(dir: string): Array<[string, string]> {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => statSync(path.join(dir, f)).isFile())
    .sort()
    .map((f) => [f, sha256(readFileSync(path.join(dir, f)))]);
}

/** The <a> elements of an HTML page: attributes (entities decoded) and text. */
function anchors(html: string): Array<{ attrs: Record<string, string>; text: string }> {
  const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
  return [...html.matchAll(/<a\s([^>]*)>([^<]*)<\/a>/g)].map((m) => ({
    attrs: Object.fromEntries([...m[1]!.matchAll(/([a-z-]+)="([^"]*)"/g)].map((a) => [a[1]!, decode(a[2]!)])),
    text: decode(m[2]!),
  }));
}

/** METADATA from inside the wheel, read by Python's zipfile (not weld's reader). */
function metadataInWheel(file: string): string {
  const r = spawnSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); n = [x for x in z.namelist() if x.endswith(".dist-info/METADATA")]; sys.stdout.write(z.read(n[0]).decode())', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

describe('weld compose wheelhouse', () => {
  let project: BuildProject;
  const store = () => path.join(project.root, 'store');
  const cli = (argv: string[]) => weld(argv, { cwd: project.root, env: { WELD_STORE: store(), WELD_RUNNER: 'local' } });
  const out = (name: string) => path.join(project.root, 'out/wheelhouse', name);

  beforeAll(async () => {
    project = await wheelProject({
      wheels: [
        { pkg: 'markupsafe', name: 'MarkupSafe', version: '2.1.2', requiresPython: '>=3.7' },
        { pkg: 'jinja2', name: 'Jinja2', version: '3.1.2', requiresPython: '>=3.7', requiresDist: ['MarkupSafe>=2.0'], runtime: ['markupsafe'] },
        { pkg: 'plain', name: 'plain', version: '0.1' },
      ],
      composes: {
        web: '[compose]\nkind = "wheelhouse"\npackages = ["jinja2"]\n',
        img: '[compose]\nkind = "image"\nenv = "bookworm-s390x-runtime"\npackages = ["jinja2"]\n',
      },
    });
  }, 120_000);
  afterAll(() => project.cleanup());

  it('names every package without a build and the command that builds them, and writes nothing', async () => {
    const r = await cli(['compose', 'wheelhouse', 'web']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('compose "web": 2 packages have no build for the current metadata:');
    expect(r.stderr).toMatch(/^ {2}jinja2: never built/m);
    expect(r.stderr).toMatch(/^ {2}markupsafe: never built/m);
    expect(r.stderr).toContain('weld build jinja2 markupsafe');
    expect(existsSync(out('web'))).toBe(false);
    // Once one is built, only the other is missing.
    expect((await cli(['build', 'markupsafe'])).code).toBe(0);
    const again = await cli(['compose', 'wheelhouse', 'web', '--json']);
    expect(again.code).toBe(1);
    const error = eventStream(again.stdout).error as unknown as { code: string; missing: Array<{ package: string }>; command: string };
    expect(error.code).toBe('E_COMPOSE_NOT_BUILT');
    expect(error.missing.map((m) => m.package)).toEqual(['jinja2']);
    expect(error.command).toBe('weld build jinja2');
  }, 120_000);

  it('with --build builds what is missing, then writes wheels, the index, metadata, manifest and SBOM', async () => {
    const r = await cli(['compose', 'wheelhouse', 'web', '--build']);
    expect(r.stderr).toBe('web: Jinja2-3.1.2-py3-none-any.whl: hard-linked from the store\nweb: MarkupSafe-2.1.2-py3-none-any.whl: hard-linked from the store\n');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^jinja2: built Jinja2-3\.1\.2-py3-none-any\.whl/m);
    expect(r.stdout).toMatch(/^web: 2 wheels of 2 projects → out\/wheelhouse\/web \(hard-linked from the store; [\d.]+ s\)$/m);
    const files = tree(out('web')).map(([f]) => f);
    expect(files).toEqual([
      'manifest.json',
      'sbom.cdx.json',
      'simple/index.html',
      'simple/index.json',
      'simple/jinja2/index.html',
      'simple/jinja2/index.json',
      'simple/markupsafe/index.html',
      'simple/markupsafe/index.json',
      'wheels/Jinja2-3.1.2-py3-none-any.whl',
      'wheels/Jinja2-3.1.2-py3-none-any.whl.metadata',
      'wheels/MarkupSafe-2.1.2-py3-none-any.whl',
      'wheels/MarkupSafe-2.1.2-py3-none-any.whl.metadata',
    ]);
  }, 180_000);

  it('writes a PEP 503 index whose every link, hash and requires-python is right, under normalised names', () => {
    const dir = out('web');
    const root = anchors(readFileSync(path.join(dir, 'simple/index.html'), 'utf8'));
    expect(root.map((a) => [a.attrs['href'], a.text])).toEqual([
      ['jinja2/', 'jinja2'],
      ['markupsafe/', 'markupsafe'],
    ]);
    for (const project of ['jinja2', 'markupsafe']) {
      const page = path.join(dir, 'simple', project);
      const html = readFileSync(path.join(page, 'index.html'), 'utf8');
      expect(html).toContain('<meta name="pypi:repository-version" content="1.1">');
      const links = anchors(html);
      expect(links).toHaveLength(1);
      for (const a of links) {
        const [href, fragment] = a.attrs['href']!.split('#') as [string, string];
        const wheel = path.resolve(page, decodeURIComponent(href));
        expect(path.dirname(wheel)).toBe(path.join(dir, 'wheels'));
        expect(path.basename(wheel)).toBe(a.text);
        expect(fragment).toBe(`sha256=${sha256(readFileSync(wheel))}`);
        const metadata = readFileSync(`${wheel}.metadata`, 'utf8');
        expect(metadata).toBe(metadataInWheel(wheel));
        expect(a.attrs['data-requires-python']).toBe('>=3.7');
        expect(a.attrs['data-core-metadata']).toBe(`sha256=${sha256(metadata)}`);
        // Only the PEP 714 name: pip 23.0 breaks on the old one (see index-pages.ts).
        expect(a.attrs['data-dist-info-metadata']).toBeUndefined();
      }
    }
    // The raw HTML escapes the comparison operator.
    expect(readFileSync(path.join(dir, 'simple/markupsafe/index.html'), 'utf8')).toContain('data-requires-python="&gt;=3.7"');
    expect(existsSync(path.join(dir, 'simple/MarkupSafe'))).toBe(false);
  });

  it('writes the PEP 691 JSON form of the same index', () => {
    const dir = out('web');
    const root = JSON.parse(readFileSync(path.join(dir, 'simple/index.json'), 'utf8')) as unknown;
    expect(root).toEqual({ meta: { 'api-version': '1.1' }, projects: [{ name: 'jinja2' }, { name: 'markupsafe' }] });
    const page = JSON.parse(readFileSync(path.join(dir, 'simple/markupsafe/index.json'), 'utf8')) as {
      name: string;
      versions: string[];
      files: Array<{ filename: string; url: string; hashes: { sha256: string }; 'requires-python': string; 'core-metadata': { sha256: string }; size: number }>;
    };
    expect(page.name).toBe('markupsafe');
    expect(page.versions).toEqual(['2.1.2']);
    expect(page.files).toHaveLength(1);
    const f = page.files[0]!;
    const wheel = path.resolve(dir, 'simple/markupsafe/', f.url);
    expect(path.basename(wheel)).toBe(f.filename);
    const bytes = readFileSync(wheel);
    expect(f.hashes.sha256).toBe(sha256(bytes));
    expect(f.size).toBe(bytes.length);
    expect(f['requires-python']).toBe('>=3.7');
    expect(f['core-metadata'].sha256).toBe(sha256(readFileSync(`${wheel}.metadata`)));
    expect(f).not.toHaveProperty('dist-info-metadata');
  });

  it('hard-links the wheels to the store blobs, records the compose, and the manifest says where each came from', async () => {
    const manifest = JSON.parse(readFileSync(path.join(out('web'), 'manifest.json'), 'utf8')) as {
      format: string;
      name: string;
      wheels: Array<{ name: string; project: string; file: string; digest: string; buildKey: string; sourceCommit: string; package: string; requiresPython: string | null }>;
    };
    expect(manifest.format).toBe('weld-wheelhouse/1');
    expect(manifest.name).toBe('web');
    expect(manifest.wheels.map((w) => [w.name, w.project, w.package])).toEqual([
      ['Jinja2', 'jinja2', 'jinja2'],
      ['MarkupSafe', 'markupsafe', 'markupsafe'],
    ]);
    const m = await project.metadata();
    const s = await openStore({ path: store(), create: false });
    if (!s.ok) throw s.error;
    {
      for (const w of manifest.wheels) {
        expect(w.sourceCommit).toBe(m.lock[w.package]!.distro);
        expect(w.buildKey).toMatch(/^sha256:[0-9a-f]{64}$/);
        const blob = await s.value.stat(w.digest as `sha256:${string}`);
        if (!blob.ok) throw blob.error;
        expect(statSync(path.join(out('web'), 'wheels', w.file)).ino).toBe(statSync(blob.value.path).ino);
      }
      const rec = await s.value.getRecord('compose', 'wheelhouse/web');
      if (!rec.ok || !rec.value) throw new Error('no compose record');
      const data = rec.value.data as ComposeRecord;
      expect(data.type).toBe('wheelhouse');
      expect(data.manifest).toBe(`sha256:${sha256(readFileSync(path.join(out('web'), 'manifest.json')))}`);
      for (const w of manifest.wheels) expect(data.blobs).toContain(w.digest);
      // The compose record alone keeps its wheels through gc.
      const gc = await s.value.gc({ keepRecords: false, roots: [{ kind: 'compose', id: 'wheelhouse/web' }], graceMs: 0, dryRun: true });
      if (!gc.ok) throw gc.error;
      const removed = gc.value.removed.map((x) => x.digest as string);
      expect(removed.length).toBeGreaterThan(0);
      for (const w of manifest.wheels) expect(removed).not.toContain(w.digest);
      expect(removed).not.toContain(data.manifest);
    }
  });

  it('writes a CycloneDX 1.5 SBOM that the official schema accepts, with the run-time dependency graph', () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    // The schema's IRI and IDN formats are the URI and e-mail ones beyond ASCII; weld writes neither.
    ajv.addFormat('iri-reference', true).addFormat('idn-email', true);
    const dir = path.join(REPO_ROOT, 'test/fixtures/cyclonedx');
    for (const f of ['spdx.schema.json', 'jsf-0.82.schema.json']) ajv.addSchema(JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as object);
    const validate = ajv.compile(JSON.parse(readFileSync(path.join(dir, 'bom-1.5.schema.json'), 'utf8')) as object);
    const sbom = JSON.parse(readFileSync(path.join(out('web'), 'sbom.cdx.json'), 'utf8')) as {
      specVersion: string;
      components: Array<{ name: string; purl: string; hashes: Array<{ content: string }> }>;
      dependencies: Array<{ ref: string; dependsOn: string[] }>;
    };
    expect(validate(sbom), JSON.stringify(validate.errors, null, 2)).toBe(true);
    expect(sbom.specVersion).toBe('1.5');
    const jinja = sbom.components.find((c) => c.name === 'Jinja2')!;
    const markup = sbom.components.find((c) => c.name === 'MarkupSafe')!;
    expect(markup.purl).toBe('pkg:pypi/markupsafe@2.1.2?file_name=MarkupSafe-2.1.2-py3-none-any.whl');
    expect(markup.hashes[0]!.content).toBe(sha256(readFileSync(path.join(out('web'), 'wheels/MarkupSafe-2.1.2-py3-none-any.whl'))));
    expect(sbom.dependencies.find((d) => d.ref === jinja.purl)!.dependsOn).toEqual([markup.purl]);
    // A broken SBOM is caught: the validator is not just saying yes.
    expect(validate({ ...sbom, bomFormat: 'SPDX' })).toBe(false);
    expect(validate({ ...sbom, components: [{ ...markup, hashes: [{ alg: 'SHA-256', content: 'not hex' }] }] })).toBe(false);
  });

  it('composes the same bytes twice, replaces its own tree whole, and leaves nothing beside it', async () => {
    const first = tree(out('web'));
    const other = path.join(project.root, 'elsewhere');
    expect((await cli(['compose', 'wheelhouse', 'web', '--out', other])).code).toBe(0);
    expect(tree(other)).toEqual(first);
    writeFileSync(path.join(out('web'), 'stray.txt'), 'left from before');
    expect((await cli(['compose', 'wheelhouse', 'web'])).code).toBe(0);
    expect(tree(out('web'))).toEqual(first);
    expect(readdirSync(path.dirname(out('web')))).toEqual(['web']);
  }, 60_000);

  it('shares its pages and PEP 658 files with the store, and reads a wheel again when its METADATA blob is gone', async () => {
    const s = await openStore({ path: store(), create: false });
    if (!s.ok) throw s.error;
    const small = tree(out('web')).filter(([f]) => !f.endsWith('.whl'));
    expect(small.length).toBeGreaterThan(5);
    const blobOf = (hex: string) => s.value.blobPath(`sha256:${hex}`);
    for (const [f, hex] of small) expect(statSync(path.join(out('web'), f)).ino, f).toBe(statSync(blobOf(hex)).ino);
    const rec = await s.value.getRecord('compose', 'wheelhouse/web');
    if (!rec.ok || !rec.value) throw new Error('no compose record');
    for (const [, hex] of small) expect((rec.value.data as ComposeRecord).blobs).toContain(`sha256:${hex}`);
    // The index remembers MarkupSafe's METADATA blob; without it the wheel is read again.
    const first = tree(out('web'));
    const meta = small.find(([f]) => f === path.join('wheels', 'MarkupSafe-2.1.2-py3-none-any.whl.metadata'))!;
    rmSync(path.join(out('web'), meta[0]));
    rmSync(blobOf(meta[1]));
    expect((await cli(['compose', 'wheelhouse', 'web'])).code).toBe(0);
    expect(tree(out('web'))).toEqual(first);
    expect(statSync(path.join(out('web'), meta[0])).ino).toBe(statSync(blobOf(meta[1])).ino);
  }, 60_000);

  // /dev/shm is a tmpfs on these machines: a link from the store there fails with EXDEV.
  const shm = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/weld-wheelhouse-') : undefined;
  afterAll(() => shm && rmSync(shm, { recursive: true, force: true }));
  it.skipIf(!shm || statSync(shm).dev === statSync(os.tmpdir()).dev)('copies the wheels when the store is on another file system, same bytes', async () => {
    const r = await cli(['compose', 'wheelhouse', 'web', '--out', path.join(shm!, 'web'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryData(r.stdout)).toMatchObject({ linked: 0, copied: 2 });
    expect(tree(path.join(shm!, 'web'))).toEqual(tree(out('web')));
  });

  it('default: every wheel package, with or without a default.toml', async () => {
    const r = await cli(['compose', 'wheelhouse', '--build', '--json']);
    expect(r.code).toBe(0);
    const result = summaryData<{ compose: string; wheels: Array<{ project: string }> }>(r.stdout);
    // one stream: the build's events about packages, then the wheelhouse's about the compose
    const { events } = eventStream(r.stdout);
    const kinds = events.map((e) => `${e.subject?.kind}:${e.type}`);
    expect(kinds.indexOf('compose:placed')).toBeGreaterThan(kinds.lastIndexOf('package:done'));
    expect(new Set(kinds.filter((k) => k.startsWith('package:')))).toEqual(new Set(['package:started', 'package:log', 'package:done', 'package:cached']));
    expect(events.filter((e) => e.type === 'placed').map((e) => (e.data as { package: string }).package)).toEqual(['jinja2', 'markupsafe', 'plain']);
    expect(events.at(-1)).toMatchObject({ type: 'written', subject: { kind: 'compose', name: 'default' }, data: { wheels: 3, projects: 3 } });
    expect(result.compose).toBe('default');
    expect(result.wheels.map((w) => w.project)).toEqual(['jinja2', 'markupsafe', 'plain']);
    // No Requires-Python: no attribute, no JSON key.
    expect(readFileSync(path.join(out('default'), 'simple/plain/index.html'), 'utf8')).not.toContain('data-requires-python');
    expect(readFileSync(path.join(out('default'), 'simple/plain/index.json'), 'utf8')).not.toContain('requires-python');
  }, 120_000);

  it('--ref composes from the metadata at a git ref, without a checkout', async () => {
    writeFileSync(path.join(project.root, '.gitignore'), '/store/\n/out/\n/mirrors/\n/elsewhere/\n/.weld/\n');
    initRepo(project.root);
    git(project.root, 'checkout', '-q', '-b', 'respin');
    writeFileSync(path.join(project.root, 'metadata/composes/web.toml'), '[compose]\nkind = "wheelhouse"\npackages = ["markupsafe"]\n');
    git(project.root, 'commit', '-q', '-am', 'web: markupsafe only');
    git(project.root, 'checkout', '-q', 'main');
    const r = await cli(['compose', 'wheelhouse', 'web', '--ref', 'respin', '--out', 'out/respin', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryData<{ wheels: Array<{ project: string }> }>(r.stdout).wheels.map((w) => w.project)).toEqual(['markupsafe']);
    expect(readFileSync(path.join(project.root, 'metadata/composes/web.toml'), 'utf8')).toContain('"jinja2"');
  }, 60_000);

  it('refuses to replace a directory it did not write, and says why for bad names and kinds', async () => {
    const mine = path.join(project.root, 'precious');
    mkdirSync(mine, { recursive: true });
    writeFileSync(path.join(mine, 'thesis.tex'), 'years of work');
    const r = await cli(['compose', 'wheelhouse', 'web', '--out', mine]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${mine} exists and is not a wheelhouse weld wrote`);
    expect(readdirSync(mine)).toEqual(['thesis.tex']);
    expect(readdirSync(project.root).filter((f) => f.startsWith('.precious'))).toEqual([]);

    // names typed on the command line that the metadata lacks are usage errors
    const typo = await cli(['compose', 'wheelhouse', 'webb']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('no compose named "webb"; did you mean "web"?');
    const kind = await cli(['compose', 'wheelhouse', 'img']);
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('compose "img" is an image, not a wheelhouse');
    expect(kind.stderr).toContain('weld compose image img');
    const sub = await cli(['compose', 'wheelhuose']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain('unknown sub-verb "wheelhuose"; did you mean "wheelhouse"?');
    const noLoad = await cli(['compose', 'wheelhouse', '--no-load']);
    expect(noLoad.stderr).toContain('weld compose wheelhouse: --no-load does not apply here');
    const imageBuild = await cli(['compose', 'image', 'img', '--build']);
    expect(imageBuild.stderr).toContain('weld compose image: --build does not apply here');
    const two = await cli(['compose', 'wheelhouse', 'web', 'img']);
    expect(two.stderr).toContain('weld compose wheelhouse: one compose at a time (got web, img)');
    const jobs = await cli(['compose', 'wheelhouse', '--jobs', '2']);
    expect(jobs.code).toBe(2);
    expect(jobs.stderr).toContain('--jobs goes with --build');
  }, 60_000);
});
