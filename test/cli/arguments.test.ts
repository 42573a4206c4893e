import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleProject, weld } from '../helpers/project.js';

// Bad command lines through the real dispatcher: exit status 2, text on stderr (also
// under --json: a usage error is for the person typing), nothing written.
describe('bad arguments are usage errors', () => {
  let root: string;
  let cleanup: () => void;
  beforeAll(() => ({ root, cleanup } = sampleProject()));
  afterAll(() => cleanup());
  // local: no podman probes; the store is one that does not exist yet, to see it stays so
  const env = () => ({ WELD_RUNNER: 'local', WELD_STORE: path.join(root, 'store') });
  const cli = (...argv: string[]) => weld(argv, { cwd: root, env: env() });
  const usage = (message: string, hint: string) => ({ code: 2, stdout: '', stderr: `weld: error: ${message}\nweld: hint: ${hint}\n` });

  it('an unknown package is named as typed, with one message and exit 2, by every verb that takes packages', async () => {
    for (const verb of ['show', 'graph', 'mirror', 'build', 'status', 'log']) {
      expect(await cli(verb, '../../x'), verb).toEqual(usage(`weld ${verb}: no package named "../../x"`, 'run `weld list` to see every package'));
      expect(await cli(verb, 'PyYml'), verb).toEqual(usage(`weld ${verb}: no package named "PyYml"; did you mean "pyyaml"?`, 'run `weld list` to see every package'));
    }
    expect(existsSync(path.join(root, 'store'))).toBe(false);
    expect(existsSync(path.join(root, 'mirrors'))).toBe(false);
  });

  it('names every unknown package at once, and takes two spellings of one package as one', async () => {
    expect(await cli('build', 'nope1', 'Markup_Saf', 'toml', 'TOML')).toEqual(
      usage('weld build: no packages named "nope1", "Markup_Saf" (did you mean "markupsafe"?)', 'run `weld list` to see every package'),
    );
    const j = JSON.parse((await cli('graph', 'TOML', 'toml', '--json')).stdout) as { order: string[] };
    expect(j.order).toEqual(['toml']);
  });

  it('an unknown env or compose, or a compose of the other kind, is a usage error', async () => {
    expect(await cli('env', 'fetch', 'bookworm-s390')).toEqual(
      usage('no env named "bookworm-s390"; did you mean "bookworm-s390x"?', 'envs: bookworm-s390x, bookworm-s390x-runtime (metadata/envs/<env>.toml)'),
    );
    expect(await cli('compose', 'image', 'nope')).toEqual(usage('no compose named "nope"', 'composes: default, python-runtime (metadata/composes/<name>.toml)'));
    expect(await cli('compose', 'wheelhouse', 'python-runtime')).toEqual(
      usage('compose "python-runtime" is an image, not a wheelhouse (metadata/composes/python-runtime.toml)', 'run `weld compose image python-runtime`'),
    );
    expect(existsSync(path.join(root, 'store'))).toBe(false);
  });

  it('a bad digest or number for weld store is refused before the store is opened or created', async () => {
    const digestHint = 'a digest is sha256: followed by 64 lowercase hex characters, e.g. sha256:e3b0c442…b855';
    expect(await cli('store', 'cat', 'nothex')).toEqual(usage('weld store cat: "nothex" is not a digest', digestHint));
    writeFileSync(path.join(root, 'f.txt'), 'x');
    expect(await cli('store', 'put', 'f.txt', '--expected', 'bad')).toEqual(usage('weld store put: --expected: "bad" is not a digest', digestHint));
    expect(await cli('store', 'gc', '--grace', 'soon')).toEqual(usage('weld store gc: --grace soon is not a number of seconds', 'e.g. --grace 0 to remove even blobs put a moment ago'));
    expect(existsSync(path.join(root, 'store'))).toBe(false);
  });

  it('a bad doctor profile or arch is a usage error', async () => {
    expect(await cli('doctor', '--profile', 'tset')).toEqual(usage('weld doctor: unknown profile "tset"; did you mean "test"?', 'one of: build, test, local'));
    expect(await cli('doctor', '--profile', 'test', '--arch', 's390x')).toEqual(usage('weld doctor: --arch goes with the build profile, not --profile test', 'the tests and the local runner run on the host arch'));
    expect(await cli('doctor', '--runner', 'lcoal')).toEqual(usage('weld doctor: unknown runner "lcoal"', 'one of: podman, local'));
    expect(await cli('doctor', '--runner', 'local', '--profile', 'test')).toEqual(usage('weld doctor: pass --runner or --profile, not both', '--runner local is --profile local; --runner podman is the build profile'));
    expect((await cli('doctor', '--arch', 'sparc')).code).toBe(2);
  });

  it('weld up refuses a bad option before its first step (doctor --fix may change the host)', async () => {
    // No metadata and --no-fix: should the check ever move behind the steps, this still
    // stops before the doctor, and never installs anything on the machine running the tests.
    const up = (...argv: string[]) => cli('up', '--no-fix', '--metadata', path.join(root, 'no-such-dir'), ...argv);
    expect(await up('--jobs', 'two')).toEqual({ code: 2, stdout: '', stderr: 'weld: error: weld up: --jobs must be a whole number of at least 1, not "two"\n' });
    expect(await up('--runner', 'podmn')).toEqual(usage('weld up: unknown runner "podmn"; did you mean "podman"?', 'known runners: podman, local (--runner or WELD_RUNNER)'));
    expect(await up('--fix')).toEqual({ code: 2, stdout: '', stderr: 'weld: error: weld up: --fix and --no-fix exclude each other; pick one\n' });
  });

  it('under --json a bad command line is still text on stderr', async () => {
    expect(await cli('show', 'nope', '--json')).toEqual(usage('weld show: no package named "nope"', 'run `weld list` to see every package'));
    expect(await cli('list', '--json', '--bogus')).toEqual(usage('weld list: unknown option --bogus', "run 'weld list --help' for its options"));
    expect(await cli('--json')).toEqual(usage('unknown option --json', "before a verb only --help and --version; a verb's options go after it (weld <verb> --help)"));
    expect(await cli('stauts', '--json')).toEqual(usage('unknown verb "stauts"; did you mean "status"?', "run 'weld --help' for the list of verbs"));
  });
});
