import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeDebianArchive } from '../helpers/debian-archive.js';
import { eventStream } from '../helpers/event-lines.js';
import { sampleProject, weld } from '../helpers/project.js';
import { makeSdist, project, sha256, simpleIndex, type SimpleIndex } from '../helpers/sdists.js';
import { fileServer, type TestServer } from '../helpers/servers.js';
import { entry, tar, tempDir } from '../helpers/tar.js';
import { gzipSync } from 'node:zlib';

// `weld import` against a loopback PEP 503/691 index of real sdists, with an (empty)
// fake Debian archive first in the source order.

const PROJECTS = () => [
  project(
    { name: 'alpha', version: '1.0', summary: 'First letter', license: 'MIT', homepage: 'https://alpha.example/', requires: ['beta>=2', 'gamma; sys_platform == "win32"', 'delta[fast]; python_version >= "3.8"', 'old-py; python_version < "3.8"'] },
    { name: 'alpha', version: '1.1', summary: 'First letter', license: 'MIT', requires: ['beta>=2'] },
  ),
  project({ name: 'beta', version: '1.5' }, { name: 'beta', version: '2.0', requires: ['epsilon'] }, { name: 'beta', version: '2.2', requires: ['epsilon'] }, { name: 'beta', version: '3.0rc1' }),
  project({ name: 'gamma', version: '1.0' }),
  project({ name: 'delta', version: '0.9', requires: ['speedy; extra == "fast"', 'docs-tool; extra == "docs"'] }),
  project({ name: 'speedy', version: '4.0', packages: ['speedy', '_speedy_impl'] }),
  project({ name: 'docs-tool', version: '1.0' }),
  project({ name: 'epsilon', version: '0.1', requires: ['zeta'] }),
  // a cycle among run-time requirements
  project({ name: 'zeta', version: '0.2', requires: ['epsilon'] }),
  project({ name: 'Py.Mixed_Case', version: '2.0', packages: ['mixed'] }),
  // 2.0 needs a newer Python than the builder env's 3.11; 1.9 is yanked; 1.8 fits
  { key: 'picky', files: [...project({ name: 'picky', version: '1.8' }).files, { ...project({ name: 'picky', version: '1.9' }).files[0]!, yanked: true }, { ...project({ name: 'picky', version: '2.0' }).files[0]!, requiresPython: '>=3.12' }] },
  project({ name: 'rusty', version: '1.0', backend: 'maturin' }),
  // its version comes from git at build time; a release tarball needs it told
  project({ name: 'scm-based', version: '3.1', extra: { 'pyproject.toml': '[build-system]\nrequires = ["setuptools>=64", "setuptools_scm[toml]>=8"]\nbuild-backend = "setuptools.build_meta"\n' } }),
  // no setup.py, setup.cfg or pyproject.toml at its root: pip could not build it
  { key: 'nested', files: [{ filename: 'nested-1.0.tar.gz', bytes: nestedTree() }] },
  // top needs b>=2, but the newest a needs b<2: a conflict, reported with both
  project({ name: 'top', version: '1.0', requires: ['a', 'b>=2'] }),
  project({ name: 'a', version: '2.0', requires: ['b<2'] }),
  project({ name: 'b', version: '1.0' }, { name: 'b', version: '2.0' }),
  // q takes p back to 1.x: what p 2.0 asked for (r) is not imported
  project({ name: 'p', version: '1.0' }, { name: 'p', version: '2.0', requires: ['r'] }),
  project({ name: 'q', version: '1.0', requires: ['p<2'] }),
  project({ name: 'r', version: '1.0' }),
];

/** An sdist whose project sits one directory down. */
function nestedTree(): Buffer {
  return gzipSync(tar(entry({ name: 'nested-1.0/', type: '5' }), entry({ name: 'nested-1.0/PKG-INFO', data: 'Metadata-Version: 2.1\nName: nested\nVersion: 1.0\n' }), entry({ name: 'nested-1.0/src/setup.py', data: '' })));
}

let index: SimpleIndex;
let archive: TestServer;
let archiveDir: { dir: string; cleanup: () => void };

beforeAll(async () => {
  index = await simpleIndex({ projects: PROJECTS() });
  archiveDir = tempDir('weld-import-archive-');
  writeDebianArchive(archiveDir.dir, { suite: 'bookworm', sources: [] });
  archive = await fileServer(archiveDir.dir);
});
afterAll(async () => {
  await index.close();
  await archive.close();
  archiveDir.cleanup();
});

let proj: { root: string; cleanup: () => void };
beforeEach(() => {
  proj = sampleProject();
  index.set(PROJECTS());
});
afterEach(() => proj.cleanup());

const env = () => ({ WELD_DEBIAN_MIRROR: archive.url });
const req = (text: string, name = 'requirements.txt') => {
  writeFileSync(path.join(proj.root, name), text);
  return name;
};
const pkgFile = (name: string) => readFileSync(path.join(proj.root, 'metadata/packages', `${name}.toml`), 'utf8');
const has = (name: string) => existsSync(path.join(proj.root, 'metadata/packages', `${name}.toml`));

describe('weld import from a simple index', () => {
  it('resolves pins, ranges, extras, markers and a cycle, and the result passes weld check', async () => {
    req('alpha==1.0\n');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    // beta>=2 takes the newest final release, not the pre-release; gamma (win32) and old-py (< 3.8) are left out
    for (const n of ['alpha', 'beta', 'delta', 'speedy', 'epsilon', 'zeta']) expect(has(n)).toBe(true);
    for (const n of ['gamma', 'old-py', 'docs-tool']) expect(has(n)).toBe(false);
    expect(pkgFile('beta')).toMatch(/^version = "2.2"$/m);
    const alpha = pkgFile('alpha');
    const sdist = makeSdist({ name: 'alpha', version: '1.0', summary: 'First letter', license: 'MIT', homepage: 'https://alpha.example/', requires: ['beta>=2', 'gamma; sys_platform == "win32"', 'delta[fast]; python_version >= "3.8"', 'old-py; python_version < "3.8"'] });
    expect(alpha).toBe(
      [
        `# Imported by weld import from ${index.url.replace(/\/simple$/, '')}/files/alpha-1.0.tar.gz.`,
        '[package]',
        'name = "alpha"',
        'version = "1.0"',
        'release = 1',
        'summary = "First letter"',
        'license = "MIT"',
        'homepage = "https://alpha.example/"',
        '',
        '[upstream]',
        `tarball = "${index.url.replace(/\/simple$/, '')}/files/alpha-1.0.tar.gz"`,
        `sha256 = "${sha256(sdist)}"`,
        '',
        '[build]',
        'recipe = "python-wheel"',
        '',
        '[runtime]',
        // delta[fast] brings speedy along: it is alpha's requirement through the extra
        'requires = ["beta", "delta", "speedy"]',
        '',
        '[test]',
        'imports = ["alpha"]',
        '',
      ].join('\n'),
    );
    expect(pkgFile('epsilon')).toMatch(/^requires = \["zeta"\]$/m);
    expect(pkgFile('zeta')).toMatch(/^requires = \["epsilon"\]$/m);
    expect(pkgFile('speedy')).toMatch(/^imports = \["speedy"\]$/m);
    expect(r.stdout).toMatch(/^6 packages imported, 0 updated, 0 unchanged, 0 already present, 0 unresolved$/m);
    const check = await weld(['check'], { cwd: proj.root });
    expect(check.stderr).toBe('');
    expect(check.stdout).toMatch(/^ok: weld-sample: 12 packages/);
  });

  it('follows -r and -c includes: a constraint limits a range without asking for the project', async () => {
    mkdirSync(path.join(proj.root, 'reqs'));
    req('-r reqs/base.txt\n-c reqs/constraints.txt\n');
    req('beta>=1 \\\n  # a comment inside\n', 'reqs/base.txt');
    req('beta<2\ngamma==1.0\n', 'reqs/constraints.txt');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.code).toBe(0);
    expect(pkgFile('beta')).toMatch(/^version = "1.5"$/m);
    expect(has('gamma')).toBe(false);
  });

  it('names the project, the pin and what the sources have when a pin cannot be met', async () => {
    req('beta==9.9\nzeta\n');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`beta==9.9: unresolved: no source has a version that fits: ==9.9 (requirements.txt:1); debian bookworm has no version of it; index ${index.url} has 1.5, 2.0, 2.2, 3.0rc1`);
    expect(r.stderr).toContain('weld: error: 1 project could not be imported: beta==9.9');
    // the rest was imported, and passes weld check
    expect(has('zeta') && has('epsilon')).toBe(true);
    expect(has('beta')).toBe(false);
    expect((await weld(['check'], { cwd: proj.root })).code).toBe(0);
  });

  it('checks --hash against the sdist and imports nothing of a mismatch', async () => {
    const good = sha256(makeSdist({ name: 'gamma', version: '1.0' }));
    req(`gamma==1.0 --hash=sha256:${'0'.repeat(64)}\n`);
    const bad = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`gamma==1.0: unresolved: hash mismatch: requirements.txt:1 allows sha256:${'0'.repeat(64)}, but gamma-1.0.tar.gz (1.0) is sha256:${good}`);
    expect(has('gamma')).toBe(false);
    req(`gamma==1.0 \\\n    --hash=sha256:${'1'.repeat(64)} \\\n    --hash=sha256:${good}\n`);
    const ok = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(ok.code).toBe(0);
    expect(pkgFile('gamma')).toContain(`sha256 = "${good}"`);
    // the written upstream is one weld mirror takes: the sdist, verified, into git
    const m = await weld(['mirror', 'gamma'], { cwd: proj.root, env: env() });
    expect(m.stderr).not.toMatch(/failed/);
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/^gamma: mirrored {2}upstream [0-9a-f]{12}/m);
  });

  it('refuses a file whose bytes are not what the index promised', async () => {
    const p = project({ name: 'gamma', version: '1.0' });
    p.files[0]!.claimedSha256 = 'a'.repeat(64);
    index.set([...PROJECTS().filter((x) => x.key !== 'gamma'), p]);
    req('gamma\n');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/gamma: unresolved: .*gamma-1\.0\.tar\.gz: sha256 mismatch: expected sha256:a{64}, got sha256:[0-9a-f]{64}/);
  });

  it('--dry-run prints the files and writes nothing; the same input gives the same bytes', async () => {
    req('alpha==1.0\n');
    const dry = await weld(['import', '--dry-run', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(dry.code).toBe(0);
    expect(has('alpha')).toBe(false);
    expect(dry.stdout).toContain('--- metadata/packages/alpha.toml (would be written)\n# Imported by weld import');
    expect(dry.stdout).toMatch(/^dry run: 6 packages imported/m);
    const first = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(first.code).toBe(0);
    const other = sampleProject();
    try {
      writeFileSync(path.join(other.root, 'requirements.txt'), 'alpha==1.0\n');
      expect((await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: other.root, env: env() })).code).toBe(0);
      for (const n of ['alpha', 'beta', 'delta', 'speedy', 'epsilon', 'zeta']) expect(readFileSync(path.join(other.root, 'metadata/packages', `${n}.toml`), 'utf8')).toBe(pkgFile(n));
    } finally {
      other.cleanup();
    }
    // what dry-run showed is what was written
    expect(dry.stdout).toContain(pkgFile('alpha'));
  });

  it('leaves existing files alone unless --update, and counts what is already present', async () => {
    writeFileSync(path.join(proj.root, 'metadata/packages/beta.toml'), pkgFile('toml').replace('name = "toml"', 'name = "beta"').replace('version = "0.10.2"', 'version = "1.5"'));
    req('beta>=2\njinja2\n');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^beta 1\.5: already present \(the distro has beta 1\.5, which does not satisfy >=2; left alone \(import with --update to replace it\)\)$/m);
    expect(r.stdout).toMatch(/^Jinja2 3\.1\.2: already present$/m);
    expect(r.stdout).toMatch(/^0 packages imported, 0 updated, 0 unchanged, 2 already present, 0 unresolved$/m);
    expect(pkgFile('beta')).toMatch(/^version = "1.5"$/m);
    const u = await weld(['import', '--update', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(u.code).toBe(0);
    expect(pkgFile('beta')).toMatch(/^version = "2.2"$/m);
    expect(u.stdout).toMatch(/^beta 2\.2: updated from/m);
    const again = await weld(['import', '--update', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(again.stdout).toMatch(/^beta 2\.2: unchanged from/m);
    // what the distro made of the same version survives --update: release and build vars
    const edited = pkgFile('beta').replace('release = 1', 'release = 4').replace('recipe = "python-wheel"', 'recipe = "python-wheel"\nvars = { B_FLAG = "1", A_FLAG = "x" }');
    writeFileSync(path.join(proj.root, 'metadata/packages/beta.toml'), edited);
    const kept = await weld(['import', '--update', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(kept.stdout).toMatch(/^beta 2\.2: updated from/m);
    expect(pkgFile('beta')).toMatch(/^release = 4$/m);
    expect(pkgFile('beta')).toMatch(/^vars = \{ A_FLAG = "x", B_FLAG = "1" \}$/m);
    expect((await weld(['check'], { cwd: proj.root })).code).toBe(0);
  });

  it('reads PEP 503 HTML pages too, and keeps the project name as its metadata spells it', async () => {
    const html = await simpleIndex({ projects: PROJECTS(), format: 'html' });
    try {
      req('py-mixed-case>=1\n');
      const r = await weld(['import', '--index-url', html.url, 'requirements.txt'], { cwd: proj.root, env: env() });
      expect(r.code).toBe(0);
      expect(pkgFile('py-mixed-case')).toMatch(/^name = "Py.Mixed_Case"$/m);
      expect(pkgFile('py-mixed-case')).toMatch(/^imports = \["mixed"\]$/m);
    } finally {
      await html.close();
    }
  });

  it('skips what requires a newer Python and what is yanked (unless pinned), and names a backend the env lacks', async () => {
    req('picky\nrusty\n');
    const r = await weld(['import', '--json', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.code).toBe(0);
    // every line is an event of the one shape (eventStream throws on one that is not)
    expect(eventStream(r.stdout).summary?.type).toBe('summary');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; subject?: { name: string }; data: Record<string, unknown> });
    const summary = lines.at(-1)!;
    expect(summary.type).toBe('summary');
    expect(summary.data).toMatchObject({ imported: 2, updated: 0, unchanged: 0, present: [], unresolved: [], dryRun: false });
    expect((summary.data['files'] as Array<{ package: string; version: string }>).map((f) => `${f.package} ${f.version}`)).toEqual(['picky 1.8', 'rusty 1.0']);
    expect(summary.data['warnings']).toContain('rusty: builder env bookworm-s390x lacks the build backend maturin: add Debian package python3-maturin to metadata/envs/bookworm-s390x.toml');
    expect(lines.some((l) => l.type === 'phase' && l.subject?.name === 'picky')).toBe(true);
    expect(pkgFile('rusty')).toContain('# Note: builder env bookworm-s390x lacks the build backend maturin: add Debian package python3-maturin to metadata/envs/bookworm-s390x.toml.\n[package]');
    req('picky==1.9\n');
    expect((await weld(['import', '--update', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() })).code).toBe(0);
    expect(pkgFile('picky')).toMatch(/^version = "1.9"$/m);
  });

  it('reports a conflict with every requirer, and drops what an abandoned choice asked for', async () => {
    req('top\n');
    const c = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(c.code).toBe(1);
    expect(c.stdout).toContain('b>=2,<2: unresolved: no source has a version that fits: >=2 (required by top 1.0), <2 (required by a 2.0);');
    // a needs b, top needs a: none is written
    expect(c.stdout).toMatch(/^top==1\.0: unresolved: it requires a, which could not be imported$/m);
    expect(has('top') || has('a') || has('b')).toBe(false);
    req('p\nq\n');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.code).toBe(0);
    expect(pkgFile('p')).toMatch(/^version = "1.0"$/m);
    expect(has('r')).toBe(false);
  });

  it("writes a new distro's first packages (no packages/ directory yet)", async () => {
    for (const d of ['metadata/packages', 'metadata/composes', 'metadata/weld.lock']) rmSync(path.join(proj.root, d), { recursive: true, force: true });
    req('zeta\n');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.code).toBe(0);
    expect(has('zeta') && has('epsilon')).toBe(true);
    expect((await weld(['check'], { cwd: proj.root })).stdout).toMatch(/^ok: weld-sample: 2 packages/);
  });

  it('says so when a source cannot be read, and takes the next', async () => {
    req('gamma\n');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: { WELD_DEBIAN_MIRROR: `${archive.url}/no-such-archive` } });
    expect(r.code).toBe(0);
    expect(has('gamma')).toBe(true);
    expect(r.stderr).toContain(`weld import: warning: debian bookworm could not be read, so the next source was asked instead: cannot fetch ${archive.url}/no-such-archive/dists/bookworm/main/source/Sources.gz: HTTP 404 Not Found`);
  });

  it('refuses a command line that names no source or no file (exit status 2)', async () => {
    req('gamma\n');
    const noIndex = await weld(['import', '--sources', 'index', 'requirements.txt'], { cwd: proj.root, env: env() });
    expect([noIndex.code, noIndex.stderr]).toEqual([2, 'weld: error: weld import: --sources names index, but there is no index URL\nweld: hint: pass --index-url <url> (or put -i <url> in the requirements file)\n']);
    expect((await weld(['import'], { cwd: proj.root, env: env() })).code).toBe(2);
    expect((await weld(['import', '--sources', 'pypi', 'requirements.txt'], { cwd: proj.root, env: env() })).stderr).toBe('weld: error: weld import: --sources takes debian and index, comma-separated, not "pypi"\n');
    // -i in the file is an index URL too
    req(`-i ${index.url}\ngamma\n`);
    expect((await weld(['import', '--sources', 'index', 'requirements.txt'], { cwd: proj.root, env: env() })).code).toBe(0);
    expect(has('gamma')).toBe(true);
  });

  it('tells setuptools-scm the version, and passes over a tree pip could not build', async () => {
    req('scm-based\nnested\n');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.code).toBe(1);
    expect(pkgFile('scm-based')).toMatch(/^vars = \{ SETUPTOOLS_SCM_PRETEND_VERSION = "3.1" \}$/m);
    expect(r.stdout).toContain('nested: unresolved: no source has a version that fits: any version (requirements.txt:2); debian bookworm has no version of it; index');
    expect(r.stdout).toContain('(unusable: 1.0: its tree has no setup.py, setup.cfg or pyproject.toml at the root, so pip cannot build it)');
  });

  it('reports a bad requirements line with its file and line', async () => {
    req('alpha==1.0\nbeta >>= 2\n');
    const r = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^weld: error: requirements.txt:2: invalid requirement "beta >>= 2": /m);
    req('-r missing.txt\n');
    const m = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(m.stderr).toContain('weld: error: requirements.txt:1: cannot read missing.txt: no such file');
    req('-r requirements.txt\n');
    const loop = await weld(['import', '--index-url', index.url, 'requirements.txt'], { cwd: proj.root, env: env() });
    expect(loop.stderr).toContain('includes itself');
  });
});
