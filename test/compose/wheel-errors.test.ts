import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { composeWheelhouse, type WheelhouseBuild } from '../../src/compose/wheelhouse/compose.js';
import { isDistInfoOf, parseWheelName, wheelTags } from '../../src/compose/wheel/name.js';
import { parseCoreMetadata } from '../../src/compose/wheelhouse/wheel-file.js';
import type { Digest } from '../../src/store/digest.js';
import type { BuildRecord } from '../../src/store/records.js';
import type { Store } from '../../src/store/store.js';
import { buildRecord, freshStore, putText, tempDir } from '../helpers/store-temp.js';

// Wheels that cannot go into an index are refused with the package, the file and the
// reason, and nothing is written: real blobs in a real store, zips written by Python.

describe('composing refuses bad wheels', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let store: Store;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('weld-wheel-errors-'));
    store = await freshStore(dir);
  });
  afterEach(() => cleanup());

  /** A zip with the given members, put into the store. */
  async function zipBlob(members: Record<string, string>): Promise<Digest> {
    const file = path.join(dir, 'w.zip');
    execFileSync('python3', ['-c', 'import json, sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], "w") as z:\n    for k, v in json.loads(sys.argv[2]).items(): z.writestr(k, v)', file, JSON.stringify(members)]);
    const r = await store.put({ file });
    if (!r.ok) throw r.error;
    return r.value.digest;
  }

  const build = (pkg: string, name: string, digest: Digest): WheelhouseBuild => {
    const record = buildRecord({ pkg, outputs: [digest] }).data as BuildRecord;
    return { package: pkg, record: { ...record, outputs: [{ name, digest, size: 1 }] }, sourceCommit: null, runtimeRequires: [] };
  };
  const compose = (builds: WheelhouseBuild[]) => composeWheelhouse({ store, name: 't', out: path.join(dir, 'out'), builds, tool: { name: 'weld', version: 'test' } });
  const nothingWritten = () => {
    expect(existsSync(path.join(dir, 'out'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.startsWith('.out'))).toEqual([]);
  };

  it('a blob that is not a zip', async () => {
    const r = await compose([build('foo', 'foo-1.0-py3-none-any.whl', await putText(store, 'not a zip'))]);
    expect(!r.ok && r.error.code).toBe('E_WHEEL_INVALID');
    expect(!r.ok && r.error.message).toMatch(/^foo: wheel foo-1\.0-py3-none-any\.whl: not a readable zip: /);
    nothingWritten();
  });

  it('a wheel without METADATA, or with another project\'s', async () => {
    const none = await compose([build('foo', 'foo-1.0-py3-none-any.whl', await zipBlob({ 'foo/__init__.py': '' }))]);
    expect(!none.ok && none.error.message).toBe('foo: wheel foo-1.0-py3-none-any.whl: it has no *.dist-info/METADATA');
    const other = await compose([build('foo', 'foo-1.0-py3-none-any.whl', await zipBlob({ 'bar-1.0.dist-info/METADATA': 'Name: bar\nVersion: 1.0\n' }))]);
    expect(!other.ok && other.error.message).toBe('foo: wheel foo-1.0-py3-none-any.whl: it has bar-1.0.dist-info/METADATA but not foo-1.0.dist-info/METADATA as the file name says');
    const lying = await compose([build('foo', 'foo-1.0-py3-none-any.whl', await zipBlob({ 'foo-1.0.dist-info/METADATA': 'Name: Foo\nVersion: 2.0\n' }))]);
    expect(!lying.ok && lying.error.message).toBe('foo: wheel foo-1.0-py3-none-any.whl: its METADATA says Foo 2.0, the file name says foo 1.0');
    nothingWritten();
  });

  it('an output that is not a wheel file name, a wheel two packages build, a wheel missing from the store', async () => {
    const ok = await zipBlob({ 'foo-1.0.dist-info/METADATA': 'Name: foo\nVersion: 1.0\n' });
    const badName = await compose([build('foo', 'foo-py3.whl', ok)]);
    expect(!badName.ok && badName.error.message).toBe('foo: "foo-py3.whl" is not a wheel file name (<dist>-<version>-<python>-<abi>-<platform>.whl, PEP 427)');
    const twice = await compose([build('foo', 'foo-1.0-py3-none-any.whl', ok), build('bar', 'foo-1.0-py3-none-any.whl', ok)]);
    expect(!twice.ok && twice.error.message).toBe('foo-1.0-py3-none-any.whl is an output of both foo and bar');
    const gone = `sha256:${'0'.repeat(64)}` as Digest;
    const missing = await compose([build('foo', 'foo-1.0-py3-none-any.whl', gone)]);
    expect(!missing.ok && missing.error.message).toBe(`foo: its wheel foo-1.0-py3-none-any.whl (${gone}) is missing from the store`);
    nothingWritten();
  });
});

describe('wheel names and METADATA', () => {
  it('splits PEP 427 names, with and without a build tag', () => {
    expect(parseWheelName('MarkupSafe-2.1.2-cp311-cp311-linux_s390x.whl')).toEqual({ distribution: 'MarkupSafe', version: '2.1.2', tags: 'cp311-cp311-linux_s390x' });
    expect(parseWheelName('foo-1.0-1-py3-none-any.whl')).toEqual({ distribution: 'foo', version: '1.0', build: '1', tags: 'py3-none-any' });
    expect(parseWheelName('foo-1.0.whl')).toBeUndefined();
    expect(parseWheelName('../foo-1.0-py3-none-any.whl')).toBeUndefined();
    // `..` as the distribution would become a path component of .data installs
    expect(parseWheelName('..-1.0-py3-none-any.whl')).toBeUndefined();
    expect(parseWheelName('a b-1.0-py3-none-any.whl')).toBeUndefined();
  });

  it('splits compressed tag sets, and matches the dist-info directory however the tool spelled the name', () => {
    const name = parseWheelName('foo_bar-1.0-cp311.cp312-abi3-manylinux_2_17_s390x.manylinux2014_s390x.whl')!;
    expect(wheelTags(name)).toEqual({ python: ['cp311', 'cp312'], abi: ['abi3'], platform: ['manylinux_2_17_s390x', 'manylinux2014_s390x'] });
    for (const dir of ['foo_bar-1.0.dist-info', 'Foo.Bar-1.0.dist-info', 'foo-bar-1.0.dist-info']) expect(isDistInfoOf(dir, name)).toBe(true);
    for (const dir of ['foo_bar-1.1.dist-info', 'foo-1.0.dist-info', 'foo_bar-1.0.data', '1.0.dist-info']) expect(isDistInfoOf(dir, name)).toBe(false);
  });

  it('reads the header fields, continuation lines and repeated keys; stops at the body', () => {
    const m = parseCoreMetadata('Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.2\nRequires-Python: >=3.7\nLicense: BSD\n  more\nRequires-Dist: MarkupSafe>=2.0\nRequires-Dist: Babel; extra == "i18n"\n\nName: not-this\n');
    expect(m).toEqual({ name: 'Jinja2', version: '3.1.2', requiresPython: '>=3.7', license: 'BSD\nmore', requiresDist: ['MarkupSafe>=2.0', 'Babel; extra == "i18n"'] });
    expect(parseCoreMetadata('Version: 1\n')).toBe('it has no Name');
    expect(parseCoreMetadata('Name: x\nthis is not a header\n')).toBe('line "this is not a header" is not "Key: value"');
  });
});
