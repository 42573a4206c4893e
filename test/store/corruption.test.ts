import { appendFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Digest } from '../../src/store/digest.js';
import type { Store } from '../../src/store/store.js';
import { buildRecord, freshStore, putText, tempDir } from '../helpers/store-temp.js';

let dir: string;
let cleanup: () => Promise<void>;
let store: Store;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  store = await freshStore(dir);
});
afterEach(() => cleanup());

async function blobFile(d: Digest): Promise<string> {
  const s = await store.stat(d);
  if (!s.ok) throw s.error;
  return s.value.path;
}

it('finds a flipped byte, a deleted blob and a truncated blob; --repair leaves a consistent store', async () => {
  const [flipped, deleted, truncated, fine] = await Promise.all(['flip me please', 'delete me', 'truncate me', 'fine'].map((t) => putText(store, t)));
  const recs = [
    buildRecord({ pkg: 'a', outputs: [flipped!, fine!] }),
    buildRecord({ pkg: 'b', outputs: [deleted!] }),
    buildRecord({ pkg: 'c', outputs: [truncated!] }),
    buildRecord({ pkg: 'd', outputs: [fine!] }),
  ];
  expect((await store.writeRecords(recs)).ok).toBe(true);
  expect((await store.verify()).ok).toBe(true);

  const f = await blobFile(flipped!);
  const bytes = await readFile(f);
  bytes[3] = bytes[3]! ^ 0x01;
  await rm(f, { force: true });
  await writeFile(f, bytes);
  await rm(await blobFile(deleted!));
  await truncate(await blobFile(truncated!), 4);
  await writeFile(`${store.path}/blobs/sha256/notadigest`, '');

  const found = await store.verify();
  if (!found.ok) throw found.error;
  const v = found.value;
  expect(v.ok).toBe(false);
  expect(v.corrupt.map((c) => c.digest).sort()).toEqual([flipped, truncated].sort());
  expect(v.strays).toEqual([`${store.path}/blobs/sha256/notadigest`]);
  expect(v.missing.map((m) => m.digest).sort()).toEqual([flipped, deleted, truncated].sort());
  expect(v.brokenRecords.sort()).toEqual([recs[0]!, recs[1]!, recs[2]!].map((r) => `r/build/${r.id}`).sort());
  expect(v.repaired).toBeNull();
  expect(await store.has(flipped!)).toBe(true); // a plain verify changes nothing

  const repaired = await store.verify({ repair: true });
  if (!repaired.ok) throw repaired.error;
  expect(repaired.value.repaired?.removedBlobs.sort()).toEqual([flipped, truncated].sort());
  expect(repaired.value.repaired?.markedBroken.length).toBe(3);
  expect(await store.has(flipped!)).toBe(false);

  const after = await store.verify();
  expect(after.ok && after.value.ok).toBe(true);
  expect(after.ok && after.value.alreadyBroken.length).toBe(3);
  const rec = await store.getRecord('build', recs[1]!.id);
  expect(rec.ok && rec.value?.broken?.missing).toEqual([deleted]);
  const intact = await store.getRecord('build', recs[3]!.id);
  expect(intact.ok && intact.value?.broken).toBeUndefined();
  const has = await store.withIndex('t', (s) => s.hasMany('build', recs.map((r) => r.id)));
  expect(has).toEqual({ ok: true, value: [false, false, false, true] });

  // The content comes back (a rebuild, a re-fetch): the next repair clears the mark.
  await putText(store, 'delete me');
  const healed = await store.verify({ repair: true });
  expect(healed.ok && healed.value.repaired?.unmarked).toEqual([`r/build/${recs[1]!.id}`]);
});

it('a quick verify sees missing blobs but not changed contents', async () => {
  const d = await putText(store, 'contents');
  await store.writeRecords([buildRecord({ pkg: 'a', outputs: [d] })]);
  await appendFile(await blobFile(d), 'more').catch(async () => {
    const p = await blobFile(d);
    await rm(p);
    await writeFile(p, 'contentsmore');
  });
  const quick = await store.verify({ contents: false });
  expect(quick.ok && quick.value.ok).toBe(true);
  const full = await store.verify();
  expect(full.ok && full.value.corrupt.length).toBe(1);
});
