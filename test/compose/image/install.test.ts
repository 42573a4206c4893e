import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { installWheel, mergeInstalls, rewriteShebang, type InstalledFile } from '../../../src/compose/image/install.js';
import { debianScheme, glibcOfEnv, pythonOfEnv } from '../../../src/compose/image/scheme.js';
import { wheelRunsOn } from '../../../src/compose/image/tags.js';
import { openWheel, parseCsv } from '../../../src/compose/image/wheel.js';
import { parseWheelName } from '../../../src/compose/wheel/name.js';
import type { Env } from '../../../src/metadata/model.js';
import { makeWheel, recordHash, zipMembers } from '../../helpers/wheels.js';

// The installer on real wheels zipped by python3's zipfile.

const scheme = debianScheme('3.11');
const SITE = 'usr/local/lib/python3.11/dist-packages';

async function install(spec: Parameters<typeof makeWheel>[0]): Promise<InstalledFile[]> {
  const w = makeWheel(spec);
  const opened = await openWheel({ file: w.file, bytes: w.bytes });
  if (!opened.ok) throw opened.error;
  const files = installWheel({ wheel: opened.value, scheme });
  if (!files.ok) throw files.error;
  return files.value;
}

async function refusal(w: { file: string; bytes: Buffer }) {
  const opened = await openWheel({ file: w.file, bytes: w.bytes });
  if (opened.ok) {
    const files = installWheel({ wheel: opened.value, scheme });
    if (files.ok) throw new Error('the wheel was installed');
    return files.error;
  }
  return opened.error;
}

const byPath = (files: InstalledFile[]) => new Map(files.map((f) => [f.path, f]));

describe('wheel installer', () => {
  it('puts a purelib wheel in dist-packages with INSTALLER and a RECORD of what it installed', async () => {
    const files = await install({ dist: 'demo', version: '1.0', files: { 'demo/__init__.py': 'X = 1\n', 'demo/data.txt': 'hi' } });
    const m = byPath(files);
    expect([...m.keys()].sort()).toEqual([
      `${SITE}/demo-1.0.dist-info/INSTALLER`,
      `${SITE}/demo-1.0.dist-info/METADATA`,
      `${SITE}/demo-1.0.dist-info/RECORD`,
      `${SITE}/demo-1.0.dist-info/WHEEL`,
      `${SITE}/demo/__init__.py`,
      `${SITE}/demo/data.txt`,
    ]);
    expect(m.get(`${SITE}/demo/__init__.py`)).toMatchObject({ mode: 0o644 });
    expect(m.get(`${SITE}/demo-1.0.dist-info/INSTALLER`)!.data.toString()).toBe('weld\n');
    const rows = parseCsv(m.get(`${SITE}/demo-1.0.dist-info/RECORD`)!.data.toString());
    // every installed file is listed with its real hash and size, relative to the site dir; RECORD itself without
    for (const f of files) {
      const rel = f.path.slice(SITE.length + 1);
      const row = rows.find((r) => r[0] === rel)!;
      if (rel.endsWith('/RECORD')) expect(row).toEqual([rel, '', '']);
      else expect(row).toEqual([rel, recordHash(f.data), String(f.data.length)]);
    }
    expect(rows).toHaveLength(files.length);
  });

  it('installs .data scripts with #!python rewritten and executable, headers and data into their schemes', async () => {
    const files = await install({
      dist: 'tool',
      version: '2.0',
      purelib: false,
      files: {
        'tool/_ext.so': Buffer.from([0x7f, 0x45, 0x4c, 0x46]),
        'tool-2.0.data/scripts/tool-run': '#!python\nimport tool\n',
        'tool-2.0.data/scripts/tool-w': '#!pythonw -u\nprint(1)\n',
        'tool-2.0.data/scripts/tool.sh': '#!/bin/sh\necho hi\n',
        'tool-2.0.data/headers/tool.h': '#define TOOL 1\n',
        'tool-2.0.data/data/share/tool/README': 'readme',
        'tool-2.0.data/purelib/tool_pure.py': 'P = 1\n',
      },
      modes: { 'tool/_ext.so': 0o100755 },
    });
    const m = byPath(files);
    expect(m.get(`${SITE}/tool/_ext.so`)).toMatchObject({ mode: 0o755 });
    expect(m.get('usr/local/bin/tool-run')!.data.toString()).toBe('#!/usr/bin/python3\nimport tool\n');
    expect(m.get('usr/local/bin/tool-run')!.mode).toBe(0o755);
    expect(m.get('usr/local/bin/tool-w')!.data.toString()).toBe('#!/usr/bin/python3 -u\nprint(1)\n');
    expect(m.get('usr/local/bin/tool.sh')!.data.toString()).toBe('#!/bin/sh\necho hi\n');
    expect(m.get('usr/local/include/python3.11/tool/tool.h')!.data.toString()).toBe('#define TOOL 1\n');
    expect(m.get('usr/local/share/tool/README')!.data.toString()).toBe('readme');
    expect(m.has(`${SITE}/tool_pure.py`)).toBe(true);
    const rows = parseCsv(m.get(`${SITE}/tool-2.0.dist-info/RECORD`)!.data.toString());
    expect(rows.map((r) => r[0])).toContain('../../../bin/tool-run');
  });

  it('writes launchers for console and gui scripts, and refuses a launcher name with a slash', async () => {
    const files = await install({ dist: 'cli', version: '1.0', files: { 'cli/__init__.py': '', 'cli/main.py': 'def run(): return 0\n' }, entryPoints: '[console_scripts]\ncli-go = cli.main:run\n\n[gui_scripts]\ncli-gui = cli.main:App.start [gui]\n\n[other.group]\nx = y:z\n' });
    const m = byPath(files);
    expect(m.get('usr/local/bin/cli-go')!.data.toString()).toBe(
      "#!/usr/bin/python3\n# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom cli.main import run\nif __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(run())\n",
    );
    expect(m.get('usr/local/bin/cli-go')!.mode).toBe(0o755);
    expect(m.get('usr/local/bin/cli-gui')!.data.toString()).toContain('from cli.main import App\n');
    expect(m.get('usr/local/bin/cli-gui')!.data.toString()).toContain('sys.exit(App.start())');
    expect(m.has('usr/local/bin/x')).toBe(false);
    const bad = await refusal(makeWheel({ dist: 'cli', version: '1.0', files: { 'cli/__init__.py': '' }, entryPoints: '[console_scripts]\n../../etc/cron = cli:run\n' }));
    expect(bad.message).toBe('wheel cli-1.0-py3-none-any.whl, entry "cli-1.0.dist-info/entry_points.txt": the entry point name "../../etc/cron" is not a plain file name; refused');
  });

  it('refuses entries that would escape: "..", absolute paths, symlinks, unknown .data schemes', async () => {
    const cases: Array<[Parameters<typeof makeWheel>[0], string]> = [
      [{ dist: 'evil', version: '1.0', files: { '../evil': 'x' } }, 'entry "../evil": a ".." component: it would escape the install directory; refused'],
      [{ dist: 'evil', version: '1.0', files: { 'evil/../../../etc/passwd': 'x' } }, 'entry "evil/../../../etc/passwd": a ".." component'],
      [{ dist: 'evil', version: '1.0', files: { '/etc/passwd': 'root::0:0::/:/bin/sh\n' } }, 'entry "/etc/passwd": an absolute path; refused'],
      [{ dist: 'evil', version: '1.0', files: { 'evil-1.0.data/scripts/../../../x': 'x' } }, 'a ".." component'],
      [{ dist: 'evil', version: '1.0', files: { 'evil-1.0.data/root/etc/shadow': 'x' } }, 'entry "evil-1.0.data/root/etc/shadow": "root" is not an install scheme (purelib, platlib, headers, scripts, data); the entry would land outside the wheel\'s directories'],
      [{ dist: 'evil', version: '1.0', files: { 'evil\\..\\x': 'x' } }, 'a backslash in the name'],
      [{ dist: 'evil', version: '1.0', files: { 'evil/link': '/etc' }, modes: { 'evil/link': 0o120777 } }, 'entry "evil/link": a symbolic link'],
    ];
    for (const [spec, message] of cases) {
      const e = await refusal(makeWheel(spec));
      expect(e.code).toBe('E_WHEEL_INVALID');
      expect(e.message).toContain('wheel evil-1.0-py3-none-any.whl, ');
      expect(e.message).toContain(message);
    }
  });

  it('checks every file against RECORD: a changed file, an unlisted file, a weak hash, a listed file that is missing', async () => {
    const tampered = makeWheel({ dist: 'demo', version: '1.0', files: { 'demo/__init__.py': 'X = 1\n' }, editRecord: (rows) => rows.map((r) => (r[0] === 'demo/__init__.py' ? [r[0], recordHash('X = 2\n'), r[2]!] : r)) });
    const e1 = await refusal(tampered);
    expect(e1.code).toBe('E_WHEEL_RECORD_MISMATCH');
    expect(e1.message).toBe(`wheel demo-1.0-py3-none-any.whl: demo/__init__.py does not match its RECORD (RECORD says ${recordHash('X = 2\n')}, the file is ${recordHash('X = 1\n')})`);
    const resized = await refusal(makeWheel({ dist: 'demo', version: '1.0', files: { 'demo/a.py': 'A' }, editRecord: (rows) => rows.map((r) => (r[0] === 'demo/a.py' ? [r[0], r[1]!, '7'] : r)) }));
    expect(resized.message).toContain('demo/a.py does not match its RECORD (RECORD says 7 bytes, the file is 1 bytes)');
    const unlisted = await refusal(makeWheel({ dist: 'demo', version: '1.0', files: { 'demo/a.py': 'A' }, unlisted: [{ name: 'demo/sneaky.py', data: 'import os' }] }));
    expect(unlisted.message).toBe('wheel demo-1.0-py3-none-any.whl, entry "demo/sneaky.py": not listed with a hash in demo-1.0.dist-info/RECORD');
    const weak = await refusal(makeWheel({ dist: 'demo', version: '1.0', files: { 'demo/a.py': 'A' }, editRecord: (rows) => rows.map((r) => (r[0] === 'demo/a.py' ? [r[0], `md5=${createHash('md5').update('A').digest('base64url')}`, r[2]!] : r)) }));
    expect(weak.message).toContain('sha256 or stronger is required');
    const ghost = await refusal(makeWheel({ dist: 'demo', version: '1.0', files: { 'demo/a.py': 'A' }, editRecord: (rows) => [...rows, ['demo/gone.py', recordHash(''), '0']] }));
    expect(ghost.message).toBe('wheel demo-1.0-py3-none-any.whl, entry "demo/gone.py": listed in demo-1.0.dist-info/RECORD but not in the wheel');
  });

  it('refuses what is not a wheel: a bad name, not a zip, no dist-info, no RECORD', async () => {
    const notZip = await openWheel({ file: 'demo-1.0-py3-none-any.whl', bytes: Buffer.from('hello') });
    expect(!notZip.ok && notZip.error.message).toMatch(/^wheel demo-1\.0-py3-none-any\.whl: not a readable zip: /);
    const badName = await openWheel({ file: 'demo.whl', bytes: Buffer.from('') });
    expect(!badName.ok && badName.error.message).toBe('wheel demo.whl: the file name is not <dist>-<version>[-<build>]-<python>-<abi>-<platform>.whl');
    const noInfo = await openWheel({ file: 'demo-1.0-py3-none-any.whl', bytes: zipMembers([{ name: 'demo/__init__.py', data: '' }]) });
    expect(!noInfo.ok && noInfo.error.message).toBe('wheel demo-1.0-py3-none-any.whl: no demo-1.0.dist-info directory');
    const noRecord = await openWheel({ file: 'demo-1.0-py3-none-any.whl', bytes: zipMembers([{ name: 'demo-1.0.dist-info/WHEEL', data: 'Wheel-Version: 1.0\nRoot-Is-Purelib: true\n' }]) });
    expect(!noRecord.ok && noRecord.error.message).toBe('wheel demo-1.0-py3-none-any.whl, entry "demo-1.0.dist-info/RECORD": missing; without it the files cannot be checked');
    const v2 = await openWheel({ file: 'demo-1.0-py3-none-any.whl', bytes: zipMembers([{ name: 'demo-1.0.dist-info/WHEEL', data: 'Wheel-Version: 2.0\nRoot-Is-Purelib: true\n' }]) });
    expect(!v2.ok && v2.error.message).toContain('Wheel-Version is 2.0; this installer knows 1.x');
  });

  it('matches dist-info names the way wheel spells them (MarkupSafe, underscores)', async () => {
    const files = await install({ dist: 'Foo_Bar', version: '1.0', files: { 'foo_bar/__init__.py': '' } });
    expect(files.some((f) => f.path === `${SITE}/Foo_Bar-1.0.dist-info/INSTALLER`)).toBe(true);
  });

  it('refuses two wheels installing one path', async () => {
    const a = await install({ dist: 'a', version: '1.0', files: { 'shared/x.py': 'a' } });
    const b = await install({ dist: 'b', version: '1.0', files: { 'shared/x.py': 'b' } });
    const merged = mergeInstalls([a, b]);
    expect(!merged.ok && merged.error.message).toBe(`a-1.0-py3-none-any.whl (shared/x.py) and b-1.0-py3-none-any.whl (shared/x.py) both install /${SITE}/shared/x.py`);
    const ok = mergeInstalls([a]);
    expect(ok.ok && ok.value.map((f) => f.path)).toEqual([...a.map((f) => f.path)].sort());
    // a file where another wheel needs a directory
    const c = await install({ dist: 'c', version: '1.0', files: { shared: 'c' } });
    const clash = mergeInstalls([c, a]);
    expect(!clash.ok && clash.error.code).toBe('E_INSTALL_CONFLICT');
    expect(!clash.ok && clash.error.message).toMatch(/c-1\.0-py3-none-any\.whl \(shared\) and a-1\.0-py3-none-any\.whl \(shared\/x\.py\) both install \/.*\/shared$/);
  });

  it('rewrites only a #!python shebang', () => {
    expect(rewriteShebang(Buffer.from('#!python'), '/usr/bin/python3').toString()).toBe('#!/usr/bin/python3');
    expect(rewriteShebang(Buffer.from('#!python3\r\nx'), '/usr/bin/python3').toString()).toBe('#!/usr/bin/python3\nx');
    expect(rewriteShebang(Buffer.from('#!/usr/bin/env python\n'), '/usr/bin/python3').toString()).toBe('#!/usr/bin/env python\n');
  });
});

describe('wheel tags and the runtime Python', () => {
  const runs = (file: string) => wheelRunsOn({ name: parseWheelName(file)!, python: '3.11', arch: 's390x' });
  it('admits pure wheels, cp311 and abi3 s390x wheels; refuses other Pythons and arches', () => {
    expect(runs('Jinja2-3.1.2-py3-none-any.whl')).toBe(true);
    expect(runs('toml-0.10.2-py2.py3-none-any.whl')).toBe(true);
    expect(runs('MarkupSafe-2.1.2-cp311-cp311-linux_s390x.whl')).toBe(true);
    expect(runs('x-1-cp37-abi3-manylinux_2_17_s390x.whl')).toBe(true);
    expect(runs('x-1-cp312-cp312-linux_s390x.whl')).toBe(false);
    expect(runs('MarkupSafe-2.1.2-cp311-cp311-linux_x86_64.whl')).toBe(false);
    expect(runs('x-1-py2-none-any.whl')).toBe(false);
    // Debian arch names map to the wheel's machine names
    expect(wheelRunsOn({ name: parseWheelName('x-1-cp311-cp311-manylinux_2_17_x86_64.whl')!, python: '3.11', arch: 'amd64' })).toBe(true);
    // a runtime's glibc bounds the manylinux tags it takes, legacy names included
    const onGlibc = (file: string) => wheelRunsOn({ name: parseWheelName(file)!, python: '3.11', arch: 's390x', glibc: [2, 36] });
    expect(onGlibc('x-1-cp311-cp311-manylinux_2_36_s390x.whl')).toBe(true);
    expect(onGlibc('x-1-cp311-cp311-manylinux_2_38_s390x.whl')).toBe(false);
    expect(onGlibc('x-1-cp311-cp311-manylinux_2_17_s390x.manylinux2014_s390x.whl')).toBe(true);
    expect(onGlibc('x-1-cp311-cp311-manylinux_3_0_s390x.whl')).toBe(false);
  });
  it('finds the Python of a runtime env in its lock', () => {
    const env = { lock: { debs: [{ name: 'libc6' }, { name: 'python3.11-minimal' }] } } as unknown as Env;
    expect(pythonOfEnv(env)).toBe('3.11');
    expect(glibcOfEnv({ lock: { debs: [{ name: 'libc6', version: '2.36-9+deb12u14' }] } } as unknown as Env)).toEqual([2, 36]);
    expect(glibcOfEnv({ lock: { debs: [] } } as unknown as Env)).toBeUndefined();
    expect(pythonOfEnv({ lock: { debs: [{ name: 'bash' }] } } as unknown as Env)).toBeUndefined();
  });
});
