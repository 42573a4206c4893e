import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemoLib, buildDemoWheel, FIXTURE, hostTags, PYTHON } from '../helpers/cext.js';
import { REPO_ROOT } from '../helpers/project.js';
import { readZip } from '../helpers/zip.js';

// The repair program (recipes/lib/repair_wheel.py) run for real on the host: real ELF
// files from gcc, a real dependency prefix, patchelf, pyelftools, and pip to install
// the result. The tag logic is the builder's; only the arch suffix comes from the host.

const PROGRAM = path.join(REPO_ROOT, 'recipes/lib/repair_wheel.py');
const EPOCH = '1700000000';

interface Run {
  status: number | null;
  stderr: string;
  out: string;
  report: { policy: string; wheels: Array<Record<string, unknown> & { output: string; tag: string; action: string; grafted: Array<Record<string, unknown>>; setBy: string[] }> };
}

describe('recipes/lib/repair_wheel.py', () => {
  let tmp: string;
  let prefix: string;
  let wheel: string;
  let plainWheel: string;
  const arch = hostTags().arch;
  const floorTag = ['x86_64', 'i686'].includes(arch) ? `manylinux_2_5_${arch}.manylinux1_${arch}` : `manylinux_2_17_${arch}.manylinux2014_${arch}`;

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'weld-repair-'));
    prefix = buildDemoLib(path.join(tmp, 'dep'));
    wheel = buildDemoWheel({ dir: path.join(tmp, 'a'), prefix, getrandom: true });
    plainWheel = buildDemoWheel({ dir: path.join(tmp, 'b'), prefix });
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  let serial = 0;
  const repair = (opts: { wheels: string[]; policy?: string; deps?: string[] }): Run => {
    const out = path.join(tmp, `out-${serial++}`);
    const report = path.join(out, 'repair.json');
    const r = spawnSync(PYTHON, [PROGRAM, '--policy', opts.policy ?? 'manylinux', '--out', out, '--report', report, '--deps', (opts.deps ?? [prefix]).join(':'), '--dep-names', 'demo', ...opts.wheels], {
      encoding: 'utf8',
      env: { PATH: '/usr/bin:/bin', SOURCE_DATE_EPOCH: EPOCH },
    });
    let parsed: Run['report'] = { policy: '', wheels: [] };
    try {
      parsed = JSON.parse(readFileSync(report, 'utf8')) as Run['report'];
    } catch {
      /* a failed repair writes no report */
    }
    return { status: r.status, stderr: r.stderr, out, report: parsed };
  };
  const readelf = (file: string) => execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' });

  it('grafts the dependency library under a hashed soname and points the extension at it', async () => {
    const r = repair({ wheels: [wheel] });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const w = r.report.wheels[0]!;
    expect(w.action).toBe('repaired');
    expect(w.output).toBe(`weldcext-1.0-cp311-cp311-manylinux_2_26_${arch}.whl`);
    const libSha = createHash('sha256').update(readFileSync(path.join(prefix, 'lib/libdemo.so.1'))).digest('hex');
    const hashed = `libdemo-${libSha.slice(0, 8)}.so.1`;
    expect(w.grafted).toEqual([
      { soname: 'libdemo.so.1', newSoname: hashed, file: `weldcext.libs/${hashed}`, sha256: libSha, source: { dependency: 'demo', path: 'lib/libdemo.so.1' }, neededBy: [`weldcext/_ext${hostTags().suffix}`] },
    ]);
    // Read the ELF files back from the repaired wheel.
    const entries = await readZip(path.join(r.out, w.output));
    const x = path.join(tmp, 'unpacked');
    for (const e of entries) {
      mkdirSync(path.dirname(path.join(x, e.name)), { recursive: true });
      writeFileSync(path.join(x, e.name), e.data);
    }
    const ext = readelf(path.join(x, `weldcext/_ext${hostTags().suffix}`));
    expect(ext).toContain(`Shared library: [${hashed}]`);
    expect(ext).not.toContain('Shared library: [libdemo.so.1]');
    expect(ext).toMatch(/\(RUNPATH\)\s+Library runpath: \[\$ORIGIN\/\.\.\/weldcext\.libs\]/);
    expect(readelf(path.join(x, 'weldcext.libs', hashed))).toContain(`Library soname: [${hashed}]`);
  });

  it('names the symbol version that set the tag, and rewrites WHEEL and RECORD (every file re-hashed)', async () => {
    const r = repair({ wheels: [wheel] });
    const w = r.report.wheels[0]!;
    expect(w.tag).toBe(`manylinux_2_26_${arch}`);
    expect(w.setBy).toEqual([`GLIBC_2.25, used by weldcext/_ext${hostTags().suffix}, is newer than glibc 2.24 provides`]);
    const entries = await readZip(path.join(r.out, w.output));
    const names = entries.map((e) => e.name);
    expect(names.at(-1)).toBe('weldcext-1.0.dist-info/RECORD');
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect(byName.get('weldcext-1.0.dist-info/WHEEL')!.data.toString()).toContain(`Tag: cp311-cp311-manylinux_2_26_${arch}\n`);
    expect(byName.get('weldcext-1.0.dist-info/WHEEL')!.data.toString()).not.toContain(`Tag: cp311-cp311-linux_${arch}\n`);
    const rows = byName.get('weldcext-1.0.dist-info/RECORD')!.data.toString().trim().split('\n').map((l) => l.split(','));
    expect(rows.map((r) => r[0]).sort()).toEqual([...names].sort());
    for (const [name, hash, size] of rows) {
      if (name === 'weldcext-1.0.dist-info/RECORD') {
        expect([hash, size]).toEqual(['', '']);
        continue;
      }
      const data = byName.get(name!)!.data;
      expect(hash).toBe('sha256=' + createHash('sha256').update(data).digest('base64url'));
      expect(Number(size)).toBe(data.length);
    }
    for (const e of entries) expect(e.mode).toBe(/\.so(\.|$)/.test(e.name) ? 0o755 : 0o644);
  });

  it('is a wheel pip installs, and it imports with the dependency prefix gone', () => {
    const dep = buildDemoLib(path.join(tmp, 'gone'));
    const w = buildDemoWheel({ dir: path.join(tmp, 'c'), prefix: dep, getrandom: true });
    const r = repair({ wheels: [w], deps: [dep] });
    expect(r.status).toBe(0);
    rmSync(dep, { recursive: true, force: true });
    const target = path.join(tmp, 'site');
    execFileSync(PYTHON, ['-m', 'pip', 'install', '--no-index', '--no-deps', '--disable-pip-version-check', '--target', target, path.join(r.out, r.report.wheels[0]!.output)], { stdio: 'pipe' });
    const answer = execFileSync(PYTHON, ['-c', 'import weldcext; print(weldcext.answer())'], { encoding: 'utf8', env: { PYTHONPATH: target, PATH: '/usr/bin:/bin' } });
    expect(answer.trim()).toBe('42');
  });

  it('points an extension under <dist>.data/platlib/ at <dist>.libs as installed', () => {
    const dep = buildDemoLib(path.join(tmp, 'gone-platlib'));
    const w = buildDemoWheel({ dir: path.join(tmp, 'platlib'), prefix: dep, platlib: true });
    const r = repair({ wheels: [w], deps: [dep] });
    expect(r.stderr).toBe('');
    rmSync(dep, { recursive: true, force: true });
    const target = path.join(tmp, 'site-platlib');
    execFileSync(PYTHON, ['-m', 'pip', 'install', '--no-index', '--no-deps', '--disable-pip-version-check', '--target', target, path.join(r.out, r.report.wheels[0]!.output)], { stdio: 'pipe' });
    expect(readelf(path.join(target, `weldcext/_ext${hostTags().suffix}`))).toMatch(/Library runpath: \[\$ORIGIN\/\.\.\/weldcext\.libs\]/);
    const answer = execFileSync(PYTHON, ['-c', 'import weldcext; print(weldcext.answer())'], { encoding: 'utf8', env: { PYTHONPATH: target, PATH: '/usr/bin:/bin' } });
    expect(answer.trim()).toBe('42');
  });

  it('gives the most compatible tag, with its legacy alias, when only old symbol versions are used', () => {
    const r = repair({ wheels: [plainWheel] });
    expect(r.status).toBe(0);
    expect(r.report.wheels[0]!.tag).toBe(floorTag);
    expect(r.report.wheels[0]!.output).toBe(`weldcext-1.0-cp311-cp311-${floorTag}.whl`);
    expect(r.report.wheels[0]!.setBy).toEqual([]);
  });

  it('writes the same bytes twice', () => {
    const a = repair({ wheels: [wheel] });
    const b = repair({ wheels: [wheel] });
    const name = a.report.wheels[0]!.output;
    expect(readFileSync(path.join(a.out, name)).equals(readFileSync(path.join(b.out, name)))).toBe(true);
  });

  it('refuses a wheel whose library is nowhere, naming it and who needs it', () => {
    const r = repair({ wheels: [wheel], deps: [] });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`wheel repair: libdemo.so.1, needed by weldcext/_ext${hostTags().suffix}, is in no dependency prefix nor the allow-list (nor the builder's library directories)\n`);
    expect(readdirSync(r.out)).toEqual([]);
  });

  it('fails a fixed target tag the wheel does not meet, naming the symbol that is too new', () => {
    const r = repair({ wheels: [wheel], policy: `manylinux_2_17_${arch}` });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      `wheel repair: weldcext-1.0-cp311-cp311-linux_${arch}.whl cannot be tagged manylinux_2_17_${arch}: GLIBC_2.25, used by weldcext/_ext${hostTags().suffix}, is newer than glibc 2.17 provides\n`,
    );
  });

  it('takes a fixed target tag the wheel meets, and refuses one for another arch', () => {
    const ok = repair({ wheels: [wheel], policy: `manylinux_2_28_${arch}` });
    expect(ok.status).toBe(0);
    expect(ok.report.wheels[0]!.output).toBe(`weldcext-1.0-cp311-cp311-manylinux_2_28_${arch}.whl`);
    const other = arch === 's390x' ? 'x86_64' : 's390x';
    const bad = repair({ wheels: [wheel], policy: `manylinux_2_28_${other}` });
    expect(bad.stderr).toBe(`wheel repair: repair policy manylinux_2_28_${other} is for ${other}, and weldcext-1.0-cp311-cp311-linux_${arch}.whl is ${arch}\n`);
  });

  it('keeps the wheel untouched under policy none, and reports what it would be', () => {
    const r = repair({ wheels: [wheel], policy: 'none', deps: [] });
    expect(r.status).toBe(0);
    const w = r.report.wheels[0]!;
    expect(w).toMatchObject({ action: 'kept', output: path.basename(wheel), tag: `linux_${arch}`, grafted: [] });
    expect(readFileSync(path.join(r.out, w.output)).equals(readFileSync(wheel))).toBe(true);
  });

  it('computes s390x tags from symbol versions and the libraries left to the system', () => {
    // versions/needed as the program gathers them; the answer is [tags, why not the one before]
    const cases: Array<[Record<string, string[]>, Record<string, string[]>, [string[] | null, string[]]]> = [
      [{ 'GLIBC_2.2': ['a.so'] }, { 'libc.so.6': ['a.so'] }, [['manylinux_2_17_s390x', 'manylinux2014_s390x'], []]],
      [{ 'GLIBC_2.34': ['a.so'], 'GLIBC_2.4': ['a.so'] }, {}, [['manylinux_2_34_s390x'], ['GLIBC_2.34, used by a.so, is newer than glibc 2.31 provides']]],
      [{ 'GLIBCXX_3.4.30': ['b.so'] }, { 'libstdc++.so.6': ['b.so'] }, [['manylinux_2_35_s390x'], ['GLIBCXX_3.4.30, used by b.so, is newer than manylinux_2_34 allows (GLIBCXX_3.4.29)']]],
      [{ 'CXXABI_TM_1': ['b.so'], 'GLIBCXX_LDBL_3.4.21': ['b.so'] }, {}, [['manylinux_2_24_s390x'], ['GLIBCXX_LDBL_3.4.21, used by b.so, is newer than manylinux_2_17 allows (GLIBCXX_3.4.19)']]],
      [{ 'GLIBC_ABI_DT_RELR': ['c.so'] }, {}, [['manylinux_2_36_s390x'], ['GLIBC_ABI_DT_RELR, used by c.so, is newer than glibc 2.35 provides']]],
      [{ 'GLIBC_PRIVATE': ['d.so'] }, {}, [null, ['GLIBC_PRIVATE, used by d.so, is private to glibc']]],
      [{}, { 'libmvec.so.1': ['e.so'] }, [['manylinux_2_24_s390x'], ['libmvec.so.1, needed by e.so, is not in the manylinux_2_17 allow-list']]],
    ];
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(path.join(REPO_ROOT, 'recipes/lib'))})`,
      'import manylinux',
      'out = []',
      'for versions, needed in json.load(sys.stdin):',
      '    minor, why = manylinux.best("s390x", versions, needed)',
      '    out.append([manylinux.platform_tags(minor, "s390x") if minor else None, why])',
      'print(json.dumps(out))',
    ].join('\n');
    const got = JSON.parse(execFileSync(PYTHON, ['-c', script], { input: JSON.stringify(cases.map(([v, n]) => [v, n])), encoding: 'utf8' })) as unknown;
    expect(got).toEqual(cases.map((c) => c[2]));
  });

  it('grafts a library from the builder\'s own library directories when no prefix has it', () => {
    const w = buildDemoWheel({ dir: path.join(tmp, 'sys'), prefix, extraLibs: ['-l:libbz2.so.1.0'] });
    const r = repair({ wheels: [w] });
    expect(r.stderr).toBe('');
    const bz2 = r.report.wheels[0]!.grafted.find((g) => g['soname'] === 'libbz2.so.1.0');
    expect(bz2).toMatchObject({ newSoname: expect.stringMatching(/^libbz2-[0-9a-f]{8}\.so\.1\.0$/) as string, source: { system: expect.stringMatching(/\/libbz2\.so\.1\.0$/) as string } });
    expect(r.report.wheels[0]!.grafted.map((g) => g['soname'])).toEqual(['libdemo.so.1', 'libbz2.so.1.0']);
  });

  it('names the file of an ELF it cannot read', () => {
    const stage = path.join(tmp, 'corrupt');
    mkdirSync(path.join(stage, 'weldcext'), { recursive: true });
    writeFileSync(path.join(stage, 'weldcext/_broken.so'), '\x7fELF and then nothing an ELF reader can use');
    const out = path.join(tmp, 'corrupt-wheels');
    mkdirSync(out);
    const broken = execFileSync(PYTHON, [path.join(FIXTURE, 'mkwheel.py'), stage, out, 'weldcext', '1.0', `cp311-cp311-linux_${arch}`], { encoding: 'utf8' }).trim();
    const r = repair({ wheels: [broken] });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^wheel repair: weldcext/_broken\\.so in weldcext-1\\.0-cp311-cp311-linux_${arch}\\.whl: cannot read ELF: .+\\n$`));
  });

  it('copies a pure wheel as it is', () => {
    const stage = path.join(tmp, 'pure');
    mkdirSync(path.join(stage, 'purepkg'), { recursive: true });
    writeFileSync(path.join(stage, 'purepkg/__init__.py'), '');
    const out = path.join(tmp, 'pure-wheels');
    mkdirSync(out);
    const pure = execFileSync(PYTHON, [path.join(FIXTURE, 'mkwheel.py'), stage, out, 'purepkg', '1.0', 'py3-none-any'], { encoding: 'utf8' }).trim();
    const r = repair({ wheels: [pure] });
    expect(r.report.wheels[0]).toMatchObject({ action: 'kept', output: 'purepkg-1.0-py3-none-any.whl', tag: 'any' });
    expect(readFileSync(path.join(r.out, 'purepkg-1.0-py3-none-any.whl')).equals(readFileSync(pure))).toBe(true);
  });
});
