import { afterAll, describe, expect, it } from 'vitest';
import { encodeRecord, recordKey, type BuildRecord } from '../../src/store/records.js';
import { buildRecord, freshStore, putText, tempDir } from '../helpers/store-temp.js';

// The point look-ups a build plan makes, against a real LevelDB index: records by cache
// key and a package's newest build through the package → builds keys.
describe('build record look-ups', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('finds records by key and the newest build of a package; broken and undecodable ones are misses', async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    const store = await freshStore(t.dir);
    const out = await putText(store, 'output');
    const older = buildRecord({ pkg: 'pyyaml', outputs: [out], salt: 'old' });
    const newer = buildRecord({ pkg: 'pyyaml', outputs: [out], salt: 'new' });
    (newer.data as BuildRecord).timings = { startedAt: '2024-02-01T00:00:00Z', finishedAt: '2024-02-01T00:00:05Z', durationMs: 5000 };
    const other = buildRecord({ pkg: 'toml', outputs: [out] });
    const broken = buildRecord({ pkg: 'jinja2', outputs: [out] });
    const written = await store.writeRecords([older, newer, other, broken]);
    expect(written.ok).toBe(true);
    const garbled = 'sha256:' + 'e'.repeat(64);
    const marked = await store.withIndex('test', (s) =>
      s.batch([
        { type: 'put', key: recordKey('build', broken.id), value: encodeRecord({ kind: 'build', id: broken.id, data: broken.data, broken: { at: '2024-03-01T00:00:00Z', missing: [out], reason: 'test' } }) },
        { type: 'put', key: recordKey('build', garbled), value: 'not json' },
      ]),
    );
    expect(marked.ok).toBe(true);

    const found = await store.withIndex('test', async (s) => ({
      byKey: await s.buildRecords([newer.id, 'sha256:' + '0'.repeat(64), broken.id, garbled, other.id]),
      newest: await s.newestBuilds(['pyyaml', 'toml', 'jinja2', 'nobody']),
    }));
    if (!found.ok) throw found.error;
    expect(found.value.byKey.map((r) => r?.cacheKey)).toEqual([newer.id, undefined, undefined, undefined, other.id]);
    expect(found.value.newest.map((r) => r?.cacheKey)).toEqual([newer.id, other.id, undefined, undefined]);
  });
});
