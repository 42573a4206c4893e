import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, sampleProject, weld } from '../helpers/project.js';

describe('weld CLI', () => {
  let root: string;
  let cleanup: () => void;
  beforeAll(() => ({ root, cleanup } = sampleProject()));
  afterAll(() => cleanup());

  it('prints help with every verb, and exits 2 when run with nothing', async () => {
    const help = await weld(['--help'], { cwd: root });
    expect(help.code).toBe(0);
    for (const verb of ['check', 'list', 'show', 'graph']) expect(help.stdout).toMatch(new RegExp(`^  ${verb} +\\S`, 'm'));
    const bare = await weld([], { cwd: root });
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe(help.stdout);
  });

  it('prints the version from package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await weld(['--version'], { cwd: root })).toEqual({ code: 0, stdout: `weld ${version}\n`, stderr: '' });
  });

  it('prints each verb help with its options, also as `weld help <verb>`', async () => {
    const r = await weld(['graph', '--help'], { cwd: root });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: weld graph [options] [<package>…]');
    expect(r.stdout).toMatch(/--dot +print a Graphviz digraph/);
    expect(r.stdout).toMatch(/--ref <ref> +read the metadata at a git branch/);
    expect((await weld(['help', 'graph'], { cwd: root })).stdout).toBe(r.stdout);
  });

  it('suggests the nearest verb or option', async () => {
    expect(await weld(['grpah'], { cwd: root })).toEqual({
      code: 2,
      stdout: '',
      stderr: `weld: error: unknown verb "grpah"; did you mean "graph"?\nweld: hint: run 'weld --help' for the list of verbs\n`,
    });
    expect((await weld(['--verison'], { cwd: root })).stderr).toContain('unknown option --verison; did you mean --version?');
    expect(await weld(['list', '--jsn'], { cwd: root })).toEqual({
      code: 2,
      stdout: '',
      stderr: `weld: error: weld list: unknown option --jsn; did you mean --json?\nweld: hint: run 'weld list --help' for its options\n`,
    });
    expect((await weld(['frobnicate'], { cwd: root })).stderr).toContain('unknown verb "frobnicate"\n');
  });

  it('refuses weld up at a --ref before touching the host', async () => {
    const r = await weld(['up', '--ref', 'main'], { cwd: root });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('weld: error: weld up works on the work tree, not at a --ref\nweld: hint: for a branch, use `weld build --all --ref R` and `weld compose … --ref R`\n');
  });

  it('names missing and surplus arguments and option values', async () => {
    const missing = await weld(['show'], { cwd: root });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('weld: error: weld show: missing package\nweld: hint: usage: weld show [options] <package>\n');
    expect((await weld(['show', 'toml', 'jinja2'], { cwd: root })).stderr).toContain('unexpected argument "jinja2"');
    expect((await weld(['check', '--ref'], { cwd: root })).stderr).toContain('--ref needs a value: --ref <ref>');
    expect((await weld(['check', '--json=yes'], { cwd: root })).stderr).toContain('--json is a switch and takes no value');
    expect((await weld(['graph', '--json', '--dot'], { cwd: root })).stderr).toContain('--json and --dot exclude each other');
  });

  it('checks the sample distro', async () => {
    expect(await weld(['check'], { cwd: root })).toEqual({
      code: 0,
      stdout: 'ok: weld-sample: 6 packages (5 wheels, 1 pack), 2 envs, 2 composes\n',
      stderr: '',
    });
  });

  it('finds the metadata from a subdirectory, from --metadata and from WELD_METADATA', async () => {
    expect((await weld(['check'], { cwd: path.join(root, 'recipes') })).code).toBe(0);
    expect((await weld(['check', '--metadata', path.join(root, 'metadata')], { cwd: '/' })).code).toBe(0);
    expect((await weld(['check'], { cwd: '/', env: { WELD_METADATA: path.join(root, 'metadata') } })).code).toBe(0);
    const none = await weld(['check'], { cwd: '/' });
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(
      'weld: error: no metadata/weld.toml in / or any directory above it\n' +
        'weld: hint: run weld inside a project with metadata/weld.toml, or pass --metadata <dir> (or set WELD_METADATA)\n',
    );
  });

  it('lists packages as a table and as JSON', async () => {
    const text = await weld(['list'], { cwd: root });
    expect(text.stdout.split('\n')[0]).toMatch(/^NAME +VERSION +KIND +UPSTREAM +REQUIRES$/);
    expect(text.stdout).toMatch(/^PyYAML +6\.0\.2-1 +wheel +debian pyyaml +libyaml$/m);
    const list = JSON.parse((await weld(['list', '--json'], { cwd: root })).stdout) as Array<{ name: string; kind: string }>;
    expect(list.map((p) => p.name)).toEqual(['jinja2', 'libyaml', 'markupsafe', 'msgpack', 'pyyaml', 'toml']);
    expect(list.find((p) => p.name === 'libyaml')?.kind).toBe('pack');
  });

  it('shows a package by any spelling of its name, with dependents', async () => {
    const r = await weld(['show', 'LibYAML', '--json'], { cwd: root });
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'libyaml', kind: 'pack', dependents: ['pyyaml'], env: 'bookworm-s390x', recipe: 'autotools-pack' });
    const markupsafe = (await weld(['show', 'MARKUPSAFE'], { cwd: root })).stdout;
    expect(markupsafe).toMatch(/^name +MarkupSafe$/m);
    expect(markupsafe).toMatch(/^repair +manylinux \(default\)$/m);
    expect((await weld(['show', 'libyaml'], { cwd: root })).stdout).not.toMatch(/^repair/m);
    expect(await weld(['show', 'pyyml'], { cwd: root })).toEqual({
      code: 2,
      stdout: '',
      stderr: 'weld: error: weld show: no package named "pyyml"; did you mean "pyyaml"?\nweld: hint: run `weld list` to see every package\n',
    });
  });

  it('prints the build order as text, JSON and Graphviz, whole or for some targets', async () => {
    const text = await weld(['graph'], { cwd: root });
    expect(text.stdout.split('\n').slice(0, 2)).toEqual(['Build order for weld-sample: 6 packages in 2 steps', 'STEP  PACKAGE     VERSION   REQUIRES']);
    expect(text.stdout).toMatch(/^2 +pyyaml +6\.0\.2-1 +libyaml$/m);
    const j = JSON.parse((await weld(['graph', 'PyYAML', '--json'], { cwd: root })).stdout);
    expect(j).toEqual({ order: ['libyaml', 'pyyaml'], steps: [['libyaml'], ['pyyaml']], edges: { libyaml: [], pyyaml: ['libyaml'] }, targets: { libyaml: ['bookworm-s390x'], pyyaml: ['bookworm-s390x'] } });
    const dot = (await weld(['graph', 'pyyaml', '--dot'], { cwd: root })).stdout;
    expect(dot).toBe('digraph weld {\n  rankdir=BT;\n  "libyaml" [shape=box];\n  "pyyaml" [shape=ellipse];\n  "pyyaml" -> "libyaml";\n}\n');
    expect((await weld(['graph', 'nope'], { cwd: root })).stderr).toContain('no package named "nope"');
  });

  it('prints errors as JSON on stdout with --json', async () => {
    const r = await weld(['list', '--json'], { cwd: '/' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'E_METADATA_NOT_FOUND',
        message: 'no metadata/weld.toml in / or any directory above it',
        hint: 'run weld inside a project with metadata/weld.toml, or pass --metadata <dir> (or set WELD_METADATA)',
      },
    });
  });
});

describe('bin/weld', () => {
  it('says what to run when dist/ is missing (npm test runs it before tsc)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'weld-bin-'));
    try {
      mkdirSync(path.join(dir, 'bin'));
      copyFileSync(path.join(REPO_ROOT, 'bin/weld'), path.join(dir, 'bin/weld'));
      const r = spawnSync(process.execPath, [path.join(dir, 'bin/weld'), 'doctor', '--profile', 'test'], { cwd: dir, encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`weld: error: weld is not compiled: ${dir}/dist/src/cli/main.js is missing\nweld: hint: run \`npm ci\` (or \`npm run build\`) in ${dir}/\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs the compiled CLI and sets the exit status', () => {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO_ROOT, stdio: 'ignore' });
    const ok = spawnSync(path.join(REPO_ROOT, 'bin/weld'), ['check'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(ok.stdout).toBe('ok: weld-sample: 6 packages (5 wheels, 1 pack), 2 envs, 2 composes\n');
    expect(ok.status).toBe(0);
    const bad = spawnSync(path.join(REPO_ROOT, 'bin/weld'), ['chekc'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('did you mean "check"?');
  });
});
