import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildDependNames, packRecipe } from '../../src/import/native.js';
import { evaluateMarker, markerEnvironment, parseRequirement } from '../../src/import/pep508.js';
import { parseRequiresTxt, readProjectInfo } from '../../src/import/project-info.js';
import { renderPackageFile, tomlString } from '../../src/import/render.js';
import { readRequirementsFiles } from '../../src/import/requirements.js';
import { readSourceTree } from '../../src/import/source-tree.js';
import { sdistVersion } from '../../src/import/sources/simple-index.js';
import { parseToml } from '../../src/metadata/toml.js';
import { makeSdist } from '../helpers/sdists.js';
import { tempDir } from '../helpers/tar.js';

const s390x = markerEnvironment({ arch: 's390x', pythonVersion: '3.11.2' });
const holds = (req: string, extras: string[] = [], env = s390x) => {
  const r = parseRequirement(req);
  if (!r.ok) throw new Error(r.message);
  return evaluateMarker({ marker: r.value.marker!, env, extras });
};

describe('PEP 508 markers', () => {
  it('evaluates versions as PEP 440, strings as strings, and extras', () => {
    expect(holds('x; python_version >= "3.8"')).toBe(true);
    expect(holds('x; python_version < "3.10"')).toBe(false); // 3.11 > 3.10 as versions, not as strings
    expect(holds('x; "3.12" <= python_full_version')).toBe(false);
    expect(holds('x; platform_machine == "s390x" and sys_platform == "linux"')).toBe(true);
    expect(holds('x; platform_machine == "x86_64" or os_name == "nt"')).toBe(false);
    expect(holds('x; "s390" in platform_machine')).toBe(true);
    expect(holds('x; platform_machine not in "x86_64 aarch64"')).toBe(true);
    expect(holds('x; extra == "fast"')).toBe(false);
    expect(holds('x; extra == "Fast"', ['fast'])).toBe(true);
    expect(holds('x; python_version >= "3.8" and (extra == "a" or extra == "b")', ['b'])).toBe(true);
    expect(holds('x; platform_machine == "aarch64"', [], markerEnvironment({ arch: 'arm64', pythonVersion: '3.13.5' }))).toBe(true);
  });

  it('parses requirement strings and refuses what is not one', () => {
    expect(parseRequirement('Foo.Bar_baz[Security,socks] >=2.0, <3 ; python_version > "3"')).toMatchObject({ ok: true, value: { name: 'Foo.Bar_baz', key: 'foo-bar-baz', specifier: '>=2.0,<3', extras: ['security', 'socks'] } });
    expect(parseRequirement('foo @ https://example.org/foo.tar.gz')).toMatchObject({ ok: false, message: expect.stringContaining('a direct URL requirement') });
    expect(parseRequirement('foo >>= 1').ok).toBe(false);
    // the plain shape is read without the grammar; it must read the same as the grammar does
    expect(parseRequirement('g >= 1, < 2')).toMatchObject({ ok: true, value: { key: 'g', specifier: '>=1,<2', extras: [] } });
    expect(parseRequirement('l (>=1)')).toMatchObject({ ok: true, value: { key: 'l', specifier: '>=1' } });
    expect(parseRequirement('k ==1.0 ,').ok).toBe(false);
    expect(parseRequirement('m==notaversion!').ok).toBe(false);
  });
});

describe('requirements files', () => {
  let t: { dir: string; cleanup: () => void };
  beforeEach(() => (t = tempDir('weld-req-')));
  afterEach(() => t.cleanup());
  const write = (name: string, text: string) => {
    mkdirSync(path.dirname(path.join(t.dir, name)), { recursive: true });
    writeFileSync(path.join(t.dir, name), text);
  };

  it('joins continuations, drops comments, follows includes relative to the including file', () => {
    write('requirements.txt', '# top\n-i https://pypi.example/simple\n--pre\nfoo==1.0 \\\n  --hash=sha256:' + 'A'.repeat(64) + ' # why\n-r sub/more.txt\n--prefer-binary\n');
    write('sub/more.txt', 'bar>=2  # comment\n-c ../cons.txt\n');
    write('cons.txt', 'bar<3\n');
    const r = readRequirementsFiles({ files: ['requirements.txt'], cwd: t.dir });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.indexUrl).toBe('https://pypi.example/simple');
    expect(r.value.pre).toBe(true);
    expect(r.value.lines.map((l) => [l.req.key, l.req.specifier, l.hashes, l.constraint, l.at])).toEqual([
      ['foo', '==1.0', [`sha256:${'a'.repeat(64)}`], false, 'requirements.txt:4'],
      ['bar', '>=2', [], false, 'sub/more.txt:1'],
      ['bar', '<3', [], true, 'cons.txt:1'],
    ]);
    expect(r.value.warnings).toEqual(['requirements.txt:7: --prefer-binary is ignored: weld builds every project from source']);
  });

  it('names the file and line of what it refuses', () => {
    const refused = (text: string) => {
      write('r.txt', text);
      const r = readRequirementsFiles({ files: ['r.txt'], cwd: t.dir });
      return r.ok ? 'accepted' : r.error.message;
    };
    expect(refused('ok\n-e git+https://x/y.git\n')).toMatch(/^r\.txt:2: an editable requirement/);
    expect(refused('foo --hash=md5:abc\n')).toBe('r.txt:1: --hash md5:abc is not <algorithm>:<hex digest>');
    expect(refused('foo --hash=sha256:abc\n')).toBe('r.txt:1: --hash sha256:abc: a sha256 digest has 64 hex digits, this has 3');
    expect(refused('foo --global-option=x\n')).toBe('r.txt:1: option --global-option is not allowed after a requirement; only --hash is');
    expect(refused('--frobnicate\n')).toBe('r.txt:1: unknown option --frobnicate');
    expect(refused('-r https://example.org/r.txt\n')).toBe('r.txt:1: -r https://example.org/r.txt: weld reads only local requirements files');
  });
});

describe('sdist metadata', () => {
  it("reads setuptools' requires.txt sections as markers", () => {
    expect(parseRequiresTxt('a\nb>=1\n\n[fast]\nc\n\n[:python_version < "3.8"]\nd\n\n[tls:sys_platform == "win32"]\ne\n')).toEqual([
      'a',
      'b>=1',
      'c; extra == "fast"',
      'd; (python_version < "3.8")',
      'e; (sys_platform == "win32") and extra == "tls"',
    ]);
  });

  it('takes [project] of pyproject.toml when there is no PKG-INFO, and its layout for the modules', async () => {
    const bytes = makeSdist({
      name: 'srcy',
      version: '0.3',
      noPkgInfo: true,
      packages: [],
      backend: 'hatchling.build',
      extra: { 'src/srcy/__init__.py': '', 'src/srcy/_c.c': '', 'docs/conf.py': '', 'noxfile.py': '' },
    });
    const tree = await readSourceTree({ bytes, label: 'srcy' });
    expect(tree.ok).toBe(true);
    if (!tree.ok) return;
    const info = readProjectInfo(tree.value);
    expect(info).toMatchObject({ name: 'srcy', version: '0.3', backend: 'hatchling.build', modules: ['srcy'], requiresFrom: 'pyproject.toml', requiresDist: [] });
  });

  it('takes root packages, not the helper scripts beside them, unless a module is named after the project', async () => {
    const tree = async (name: string, extra: Record<string, string>) => {
      const t = await readSourceTree({ bytes: makeSdist({ name, version: '1.0', noPkgInfo: true, packages: [], backend: 'setuptools.build_meta', extra }), label: name });
      if (!t.ok) throw t.error;
      return readProjectInfo(t.value).modules;
    };
    expect(await tree('chardet', { 'chardet/__init__.py': '', 'convert_language_model.py': '' })).toEqual(['chardet']);
    expect(await tree('six-ish', { 'six_ish.py': '', 'helpers/__init__.py': '' })).toEqual(['helpers', 'six_ish']);
    expect(await tree('mccabe', { 'mccabe.py': '', 'test_mccabe.py': '' })).toEqual(['mccabe']);
  });

  it("reads setuptools' declarative setup.cfg when the tree has no PKG-INFO", async () => {
    const cfg = [
      '[metadata]',
      'name = cfgproj',
      'version = attr: cfgproj.__version__',
      'description = From setup.cfg',
      'url = https://cfg.example/',
      'classifiers =',
      '    License :: OSI Approved :: MIT License',
      '',
      '[options]',
      'python_requires = >= 3.7',
      'install_requires =',
      '    six >= 1.5',
      '    tomli; python_version < "3.11"',
      '',
      '[options.extras_require]',
      'fast = speedy',
      '',
      '[flake8]',
      'max-line-length = 80',
    ].join('\n');
    // a pyproject.toml with no [project]: setuptools reads its metadata from setup.cfg
    const bytes = makeSdist({ name: 'cfgproj', version: '0.1', noPkgInfo: true, extra: { 'setup.cfg': cfg, 'pyproject.toml': '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n' } });
    const tree = await readSourceTree({ bytes, label: 'cfgproj' });
    expect(tree.ok).toBe(true);
    if (!tree.ok) return;
    // the version is attr: (known only by running code), so it is not taken
    expect(readProjectInfo(tree.value).version).toBeUndefined();
    expect(readProjectInfo(tree.value)).toMatchObject({ name: 'cfgproj', summary: 'From setup.cfg', license: 'MIT', homepage: 'https://cfg.example/', requiresPython: '>= 3.7', requiresDist: ['six >= 1.5', 'tomli; python_version < "3.11"', 'speedy; extra == "fast"'], requiresFrom: 'setup.cfg' });
  });

  it('refuses what is not one source tarball', async () => {
    const r = await readSourceTree({ bytes: Buffer.from('PK\u0003\u0004 a zip'), label: 'x.zip' });
    expect(!r.ok && r.error.message).toBe('x.zip: not a tarball weld can read (zip)');
  });

  it('takes the version out of an sdist file name by the project name', () => {
    expect(sdistVersion('Py.Mixed_Case-2.0.tar.gz', 'py-mixed-case')).toBe('2.0');
    expect(sdistVersion('foo-bar-1.0.tar.gz', 'foo')).toBe('bar-1.0');
    expect(sdistVersion('foo-bar-1.0.tar.gz', 'foo-bar')).toBe('1.0');
    expect(sdistVersion('other-1.0.tar.gz', 'foo')).toBeUndefined();
    expect(sdistVersion('PyYAML-3.10.tar.bz2', 'pyyaml')).toBe('3.10');
  });
});

describe('Debian packaging', () => {
  it('reads Build-Depends: first alternative, no versions, arches or profiles', () => {
    expect(buildDependNames('debhelper-compat (= 13), libfoo-dev (>= 1.2) [!hurd-i386] <!nocheck>, libbar-dev | libbar2-dev, python3-all-dev:any')).toEqual(['debhelper-compat', 'libfoo-dev', 'libbar-dev', 'python3-all-dev']);
  });

  it('picks a pack recipe by the build files at the root', () => {
    expect(packRecipe(new Set(['configure', 'CMakeLists.txt']))).toBe('autotools-pack');
    expect(packRecipe(new Set(['CMakeLists.txt', 'meson.build']))).toBe('cmake-pack');
    expect(packRecipe(new Set(['meson.build']))).toBe('meson-pack');
    expect(packRecipe(new Set(['Makefile']))).toBeUndefined();
  });
});

describe('rendering', () => {
  it('escapes what TOML must have escaped, so hostile metadata stays one valid string', () => {
    const nasty = 'a "quoted" \\ back\tslash\u0007bell\u007fdel ✓';
    expect(tomlString(nasty)).toBe('"a \\"quoted\\" \\\\ back\\tslash\\u0007bell\\u007fdel ✓"');
    const text = renderPackageFile({ comments: ['from x\nnewline'], name: 'x', version: '1.0', kind: 'wheel', summary: nasty, upstream: { kind: 'tarball', url: 'https://x/x-1.0.tar.gz', sha256: 'a'.repeat(64) }, recipe: 'python-wheel', buildRequires: [], runtimeRequires: ['b', 'a'], imports: [] });
    const parsed = parseToml(text);
    expect(parsed.ok && (parsed.doc['package'] as Record<string, unknown>)['summary']).toBe(nasty);
    expect(text).toContain('requires = ["a", "b"]');
    expect(text.startsWith('# from x newline\n[package]')).toBe(true);
  });
});
