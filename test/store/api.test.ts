import { statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestBytes, parseDigest, type Digest } from '../../src/store/digest.js';
import { resolveStoreLocation } from '../../src/store/location.js';
import { openStore, type Store } from '../../src/store/store.js';
import { referencedDigests } from '../../src/store/records.js';
import { buildRecord, freshStore, putText, tempDir } from '../helpers/store-temp.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: Store;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = await freshStore(dir);
});
afterEach(() => cleanup());

async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('blobs', () => {
  it('puts a stream and a file, and has/stat/get agree with what went in', async () => {
    const file = path.join(dir, 'hello.txt');
    await writeFile(file, 'hello\n');
    const fromFile = await store.put({ file });
    const fromStream = await store.put(Readable.from([Buffer.from('hel'), Buffer.from('lo\n')]));
    expect(fromFile).toEqual({ ok: true, value: { digest: digestBytes('hello\n'), size: 6, existed: false } });
    expect(fromStream).toEqual({ ok: true, value: { digest: digestBytes('hello\n'), size: 6, existed: true } });
    const d = digestBytes('hello\n');
    expect(await store.has(d)).toBe(true);
    expect(await store.has(digestBytes('other'))).toBe(false);
    const st = await store.stat(d);
    expect(st.ok && st.value.size).toBe(6);
    expect(st.ok && path.relative(store.path, st.value.path)).toBe(`blobs/sha256/${d.slice(7, 9)}/${d.slice(9)}`);
    const got = await store.get(d);
    expect(got.ok && (await readAll(got.value)).toString()).toBe('hello\n');
    expect(await readdir(path.join(store.path, 'tmp'))).toEqual([]);
  });

  it('stores the empty blob', async () => {
    const r = await store.put([]);
    expect(r.ok && r.value.digest).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('refuses content that does not match `expected` and leaves nothing behind', async () => {
    const wrong = digestBytes('something else');
    const r = await store.put([Buffer.from('payload')], { expected: wrong, label: 'the payload' });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('E_STORE_DIGEST_MISMATCH');
    expect(r.error.message).toBe(`the payload: expected ${wrong} but the content is ${digestBytes('payload')}; nothing was stored`);
    expect(await store.has(digestBytes('payload'))).toBe(false);
    expect(await readdir(path.join(store.path, 'tmp'))).toEqual([]);
    const right = await store.put([Buffer.from('payload')], { expected: digestBytes('payload') });
    expect(right.ok).toBe(true);
  });

  it('reports an unreadable source by name, and stores nothing', async () => {
    const missing = await store.put({ file: path.join(dir, 'nope') });
    expect(!missing.ok && missing.error.code).toBe('E_STORE_SOURCE');
    expect(!missing.ok && missing.error.message).toMatch(/^cannot read .*nope: ENOENT/);
    const asDir = await store.put({ file: dir });
    expect(!asDir.ok && asDir.error.message).toBe(`cannot read ${dir}: it is a directory; nothing was stored`);
    const failing = await store.put(
      (async function* () {
        yield Buffer.from('partial');
        throw new Error('connection reset');
      })(),
      { label: 'https://example/x.deb' },
    );
    expect(!failing.ok && failing.error.message).toBe('cannot read https://example/x.deb: connection reset; nothing was stored');
    expect(await readdir(path.join(store.path, 'tmp'))).toEqual([]);
    // Unreadable for root too (CI runs as root, where chmod 000 blocks nothing): a path
    // through a file fails at open, and /proc/self/mem opens as a regular file whose
    // read at offset 0 fails (EIO: nothing is mapped there).
    const file = path.join(dir, 'plain');
    await writeFile(file, 'x');
    const throughFile = await store.put({ file: path.join(file, 'child') });
    expect(!throughFile.ok && throughFile.error.message).toMatch(/^cannot read .*plain\/child: ENOTDIR/);
    const unreadable = await store.put({ file: '/proc/self/mem' });
    expect(!unreadable.ok && unreadable.error.code).toBe('E_STORE_SOURCE');
    expect(!unreadable.ok && unreadable.error.message).toMatch(/^cannot read \/proc\/self\/mem: .*EIO.*; nothing was stored$/);
    expect(await readdir(path.join(store.path, 'tmp'))).toEqual([]);
  });

  it('says what is wrong with a digest string', () => {
    for (const bad of ['', 'abc', 'sha256:xyz', 'sha1:' + 'a'.repeat(40), 'sha256:' + 'a'.repeat(63), 'a'.repeat(65)]) {
      const r = parseDigest(bad, { where: 'test', bare: true });
      expect(!r.ok && r.error.code).toBe('E_STORE_BAD_DIGEST');
    }
    expect(parseDigest('a'.repeat(64), { where: 'x' }).ok).toBe(false);
    expect(parseDigest('A'.repeat(64), { where: 'x', bare: true })).toEqual({ ok: true, value: 'sha256:' + 'a'.repeat(64) });
    const r = parseDigest('sha256:zz', { where: 'weld store cat' });
    expect(!r.ok && r.error.message).toBe('weld store cat: "sha256:zz" is not a digest');
  });

  it('get and stat of an absent blob are errors, not throws', async () => {
    const d = digestBytes('absent');
    const g = await store.get(d);
    expect(!g.ok && g.error.code).toBe('E_STORE_BLOB_NOT_FOUND');
    const s = await store.stat(d);
    expect(!s.ok && s.error.message).toBe(`no blob ${d} in the store`);
  });

  it('streams a large blob with flat memory', async () => {
    const total = 512 << 20;
    const before = process.memoryUsage().rss;
    let peak = before;
    async function* gen() {
      const buf = Buffer.alloc(1 << 20, 7);
      for (let i = 0; i < total >> 20; i++) {
        peak = Math.max(peak, process.memoryUsage().rss);
        yield buf;
      }
    }
    const r = await store.put(gen());
    expect(r.ok && r.value.size).toBe(total);
    expect(peak - before).toBeLessThan(128 << 20);
  });

  it('refuses a store path that is a file, and a blobs dir that is a file', async () => {
    const file = path.join(dir, 'afile');
    await writeFile(file, '');
    const r = await openStore({ path: file });
    expect(!r.ok && r.error.code).toBe('E_STORE_PATH');
    expect(!r.ok && r.error.message).toBe(`store at ${file}: ${file} is not a directory`);
    const other = path.join(dir, 'other');
    await mkdir(path.join(other, 'blobs'), { recursive: true });
    await writeFile(path.join(other, 'blobs', 'sha256'), 'oops');
    const r2 = await openStore({ path: other });
    expect(!r2.ok && r2.error.message).toBe(`store at ${other}: ${path.join(other, 'blobs', 'sha256')} is not a directory`);
    expect(await readFile(path.join(other, 'blobs', 'sha256'), 'utf8')).toBe('oops');
    const none = await openStore({ path: path.join(dir, 'none'), create: false });
    expect(!none.ok && none.error.code).toBe('E_STORE_NOT_FOUND');
  });

  it('cleans tmp files of dead processes at open and keeps those of live ones', async () => {
    const tmp = path.join(store.path, 'tmp');
    await writeFile(path.join(tmp, '999999999.abc.blob'), 'half a blob');
    await writeFile(path.join(tmp, `${process.pid}.def.blob`), 'being written');
    const again = await openStore({ path: store.path });
    expect(again.ok && again.value.cleanedTmp).toBe(1);
    expect(await readdir(tmp)).toEqual([`${process.pid}.def.blob`]);
  });

  it('putFiles skips reading unchanged files the second time', async () => {
    const files = await Promise.all(['a', 'b'].map(async (n) => {
      const f = path.join(dir, n);
      await writeFile(f, n.repeat(10));
      return f;
    }));
    // Files changed in the last 2 s are never cached (a write in the same clock tick could hide).
    const { utimes } = await import('node:fs/promises');
    const old = new Date(Date.now() - 60_000);
    for (const f of files) await utimes(f, old, old);
    await new Promise((r) => setTimeout(r, 2100));
    const first = await store.putFiles({ files });
    expect(first.map((r) => r.cached)).toEqual([false, false]);
    const second = await store.putFiles({ files });
    expect(second.map((r) => r.cached)).toEqual([true, true]);
    expect(second.map((r) => r.result.ok && r.result.value.digest)).toEqual([digestBytes('a'.repeat(10)), digestBytes('b'.repeat(10))]);
    await writeFile(files[0]!, 'changed');
    const third = await store.putFiles({ files });
    expect(third[0]!.cached).toBe(false);
    expect(third[0]!.result.ok && third[0]!.result.value.digest).toBe(digestBytes('changed'));
  });

  it('adoptFiles links written files in as blobs, sharing the inode, and says which were there', async () => {
    const files = await Promise.all(['x', 'y'].map(async (n) => {
      const file = path.join(dir, `${n}.txt`);
      await writeFile(file, `page ${n}`, { mode: 0o444 });
      return { file, digest: digestBytes(`page ${n}`) };
    }));
    await store.put([Buffer.from('page y')]);
    const adopted = await store.adoptFiles({ files });
    expect(adopted.map((r) => r.ok && r.value)).toEqual([false, true]);
    const got = await store.get(files[0]!.digest);
    if (!got.ok) throw got.error;
    expect((await readAll(got.value)).toString()).toBe('page x');
    expect(statSync(store.blobPath(files[0]!.digest)).ino).toBe(statSync(files[0]!.file).ino);
    // The one already stored stays the store's own file.
    expect(statSync(store.blobPath(files[1]!.digest)).ino).not.toBe(statSync(files[1]!.file).ino);
    const verified = await store.verify({ contents: true });
    if (!verified.ok) throw verified.error;
    expect(verified.value.corrupt).toEqual([]);
  });
});

describe('records', () => {
  it('writes typed records, reads them back, and finds builds by package', async () => {
    const out = await putText(store, 'wheel bytes');
    const rec = buildRecord({ pkg: 'pyyaml', outputs: [out] });
    expect(await store.writeRecords([rec])).toEqual({ ok: true, value: undefined });
    const got = await store.getRecord('build', rec.id);
    expect(got.ok && got.value?.data).toEqual(rec.data);
    expect(await store.buildsOf('pyyaml')).toEqual({ ok: true, value: [rec.id] });
    expect(await store.buildsOf('other')).toEqual({ ok: true, value: [] });
    const has = await store.withIndex('test', (s) => s.hasMany('build', [rec.id, 'sha256:' + '0'.repeat(64)]));
    expect(has).toEqual({ ok: true, value: [true, false] });
  });

  it('moves the secondary key when a record is rewritten under another package', async () => {
    const out = await putText(store, 'x');
    const rec = buildRecord({ pkg: 'one', outputs: [out] });
    await store.writeRecords([rec]);
    await store.writeRecords([{ ...rec, data: { ...rec.data, package: 'two' } } as typeof rec]);
    expect(await store.buildsOf('one')).toEqual({ ok: true, value: [] });
    expect(await store.buildsOf('two')).toEqual({ ok: true, value: [rec.id] });
  });

  it('writes a batch all or nothing: one bad record keeps every record out', async () => {
    const out = await putText(store, 'present');
    const good = buildRecord({ pkg: 'good', outputs: [out] });
    const absent = digestBytes('never put');
    const bad = buildRecord({ pkg: 'bad', outputs: [absent] });
    const r = await store.writeRecords([good, bad]);
    expect(!r.ok && r.error.code).toBe('E_STORE_RECORD_INVALID');
    expect(!r.ok && r.error.message).toBe(`record r/build/${bad.id}: it names a blob the store does not hold: ${absent}; no record of the batch was written`);
    expect(await store.getRecord('build', good.id)).toEqual({ ok: true, value: undefined });
    const malformed = buildRecord({ pkg: 'm', outputs: [out] });
    (malformed.data as { outputs: Array<{ digest: string }> }).outputs[0]!.digest = 'nope';
    const m = await store.writeRecords([malformed]);
    expect(!m.ok && m.error.message).toMatch(/outputs\[0\] is "nope", not a sha256:<64 hex> digest/);
  });

  it('checks a build record\'s repair digests: present, well-formed, and kept alive', async () => {
    const out = await putText(store, 'wheel');
    const program = await putText(store, 'repair program');
    const report = await putText(store, '{"wheels": []}');
    const rec = buildRecord({ pkg: 'repaired', outputs: [out] });
    const repair = { policy: 'manylinux', program, report, wheels: [] };
    const withRepair = { ...rec, data: { ...rec.data, repair } } as typeof rec;
    expect(referencedDigests(withRepair)).toEqual(expect.arrayContaining([program, report]));
    expect((await store.writeRecords([withRepair])).ok).toBe(true);
    const absent = digestBytes('no such report');
    const missing = { ...rec, data: { ...rec.data, repair: { ...repair, report: absent } } } as typeof rec;
    const r = await store.writeRecords([missing]);
    expect(!r.ok && r.error.message).toContain(`it names a blob the store does not hold: ${absent}`);
    const malformed = { ...rec, data: { ...rec.data, repair: { ...repair, program: 'nope' } } } as unknown as typeof rec;
    const m = await store.writeRecords([malformed]);
    expect(!m.ok && m.error.message).toMatch(/repair\.program is "nope", not a sha256:<64 hex> digest/);
  });

  it('refuses to decode an encoding version it does not know', async () => {
    await store.withIndex('test', (s) => s.batch([{ type: 'put', key: 'r/build/x', value: JSON.stringify({ v: 99, kind: 'build', data: {} }) }]));
    const r = await store.getRecord('build', 'x');
    expect(!r.ok && r.error.code).toBe('E_STORE_RECORD_DECODE');
    expect(!r.ok && r.error.message).toBe('stored record r/build/x cannot be read: encoding version 99 of "build" records is not known to this weld (it knows 1)');
  });
});

describe('index sessions', () => {
  it('queues sessions of one process in call order instead of refusing the second', async () => {
    const order: string[] = [];
    const session = (name: string, ms: number) =>
      store.withIndex(name, async () => {
        order.push(`${name} in`);
        await new Promise((r) => setTimeout(r, ms));
        order.push(`${name} out`);
        return name;
      });
    const results = await Promise.all([session('a', 50), session('b', 0), store.setRoot({ name: 'c', digests: [] })]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out']);
  });

  it('still refuses a nested session (it would wait for itself forever), and the queue goes on', async () => {
    const outer = await store.withIndex('outer', () => store.withIndex('inner', async () => 1).then(() => 'nested ran', (e: Error) => e.message));
    expect(outer.ok && outer.value).toBe('bug: Store.withIndex called inside another withIndex');
    const after = await store.withIndex('after', async () => 'ok');
    expect(after.ok && after.value).toBe('ok');
  });
});

describe('gc', () => {
  async function aged(d: Digest) {
    const { utimes } = await import('node:fs/promises');
    const st = await store.stat(d);
    if (st.ok) await utimes(st.value.path, new Date(0), new Date(0));
  }

  it('keeps rooted and recorded blobs, removes the rest, and dry-run removes nothing', async () => {
    const rooted = await putText(store, 'rooted');
    const recorded = await putText(store, 'recorded');
    const loose = await putText(store, 'loose');
    const fresh = await putText(store, 'fresh');
    for (const d of [rooted, recorded, loose]) await aged(d);
    expect((await store.setRoot({ name: 'keep', digests: [rooted] })).ok).toBe(true);
    expect((await store.writeRecords([buildRecord({ pkg: 'p', outputs: [recorded] })])).ok).toBe(true);
    const dry = await store.gc({ dryRun: true });
    expect(dry.ok && dry.value.removed).toEqual([{ digest: loose, size: 5 }]);
    expect(dry.ok && dry.value.young).toBe(1);
    expect(await store.has(loose)).toBe(true);
    const real = await store.gc({});
    expect(real.ok && real.value.bytesFreed).toBe(5);
    expect(await store.has(loose)).toBe(false);
    expect(await store.has(rooted)).toBe(true);
    expect(await store.has(recorded)).toBe(true);
    expect(await store.has(fresh)).toBe(true);
    const passed = await store.gc({ graceMs: 0, roots: [] });
    expect(passed.ok && passed.value.removed.map((r) => r.digest)).toEqual([fresh]);
  });

  it('keepAlive carries a blob no record names through the grace period', async () => {
    const inUse = await putText(store, 'in use, record to come');
    const loose = await putText(store, 'loose');
    for (const d of [inUse, loose]) await aged(d);
    await store.keepAlive([inUse, digestBytes(Buffer.from('never stored'))]);
    const r = await store.gc({});
    expect(r.ok && r.value.removed.map((x) => x.digest)).toEqual([loose]);
    expect(await store.has(inUse)).toBe(true);
  });

  it('with keepRecords: false, removes unreachable records together with their blobs', async () => {
    const a = await putText(store, 'a');
    const b = await putText(store, 'b');
    const ra = buildRecord({ pkg: 'a', outputs: [a] });
    const rb = buildRecord({ pkg: 'b', outputs: [b] });
    await store.writeRecords([ra, rb]);
    const r = await store.gc({ keepRecords: false, roots: [{ kind: 'build', id: ra.id }], graceMs: 0 });
    expect(r.ok && r.value.removedRecords).toEqual([`r/build/${rb.id}`]);
    expect(await store.has(b)).toBe(false);
    expect(await store.has(a)).toBe(true);
    const v = await store.verify();
    expect(v.ok && v.value.ok).toBe(true);
  });
});

describe('location', () => {
  it('takes --store, then WELD_STORE, then [paths] store of weld.toml, then ./store', async () => {
    const proj = path.join(dir, 'proj');
    await mkdir(path.join(proj, 'metadata', 'packages'), { recursive: true });
    await writeFile(path.join(proj, 'metadata', 'weld.toml'), '[distro]\nname = "x"\nbogus = 1\n[paths]\nstore = "var/cas"\n');
    const sub = path.join(proj, 'metadata', 'packages');
    expect(resolveStoreLocation({ cwd: sub, env: {}, store: 's' })).toEqual({ ok: true, value: { path: path.join(sub, 's'), from: '--store' } });
    expect(resolveStoreLocation({ cwd: sub, env: { WELD_STORE: '/x/y' } })).toEqual({ ok: true, value: { path: '/x/y', from: 'WELD_STORE' } });
    expect(resolveStoreLocation({ cwd: sub, env: {} })).toEqual({ ok: true, value: { path: path.join(proj, 'var/cas'), from: 'weld.toml' } });
    expect(resolveStoreLocation({ cwd: dir, env: {} })).toEqual({ ok: true, value: { path: path.join(dir, 'store'), from: 'default' } });
    await writeFile(path.join(proj, 'metadata', 'weld.toml'), '[paths]\nstore = 3\n');
    const bad = resolveStoreLocation({ cwd: proj, env: {} });
    expect(!bad.ok && bad.error.message).toMatch(/\[paths\] store must be a non-empty string/);
  });
});
