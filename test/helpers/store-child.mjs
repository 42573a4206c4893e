// A separate weld process working on a store, for the crash and concurrency tests.
// Usage: node store-child.mjs <mode> <store> [args]
//   crash <store> <seed>              put multi-MB blobs and write records until killed
//   writer <store> <tag> <rounds>     put content shared with other writers + records, then exit
import { randomBytes } from 'node:crypto';
const dist = new URL('../../dist/src/store/', import.meta.url);
const { openStore } = await import(new URL('store.js', dist).href);
const { digestBytes } = await import(new URL('digest.js', dist).href);

const [mode, storePath, a, b] = process.argv.slice(2);
const opened = await openStore({ path: storePath, lockTimeoutMs: 60_000, onWait: (h) => process.stderr.write(`waiting for ${h}\n`) });
if (!opened.ok) throw opened.error;
const store = opened.value;

function record(pkg, outputs, salt) {
  const cacheKey = digestBytes(`${pkg}/${salt}/${outputs.join(',')}`);
  return {
    kind: 'build',
    id: cacheKey,
    data: {
      cacheKey, package: pkg, version: '1', release: 1, arch: 's390x', envImage: outputs[0], sourceTree: '0'.repeat(40),
      recipe: { name: 'r', digest: outputs[0] }, dependencies: {}, outputs: outputs.map((digest, i) => ({ name: `o${i}`, digest, size: 0 })),
      log: null, timings: { startedAt: '', finishedAt: '', durationMs: 0 }, runner: 'local', weldVersion: '0', provenance: null,
    },
  };
}

async function* chunks(total, seed) {
  // Deterministic content per seed, produced in 1 MiB pieces so nothing large sits in memory.
  let left = total;
  let i = 0;
  while (left > 0) {
    const n = Math.min(left, 1 << 20);
    const buf = Buffer.alloc(n, (seed * 31 + i++) & 0xff);
    buf.writeUInt32LE(seed >>> 0, 0);
    yield buf;
    left -= n;
  }
}

function must(r) {
  if (!r.ok) throw r.error;
  return r.value;
}

if (mode === 'crash') {
  let n = Number(a);
  for (;;) {
    const big = must(await store.put(chunks((2 + (n % 4)) << 20, n)));
    const small = must(await store.put([randomBytes(64)]));
    must(await store.writeRecords([record('pkg' + (n % 7), [big.digest, small.digest], String(n)), record('other', [small.digest], String(n))]));
    process.stdout.write(`${n++}\n`);
  }
} else if (mode === 'writer') {
  const rounds = Number(b);
  for (let i = 0; i < rounds; i++) {
    // Every writer puts the same shared blob each round, plus one of its own.
    const shared = must(await store.put(chunks(1 << 20, 1000 + i)));
    const own = must(await store.put([Buffer.from(`${a}-${i}`)]));
    must(await store.writeRecords([record('shared', [shared.digest], String(i)), record(a, [own.digest, shared.digest], String(i))]));
  }
  process.stdout.write('done\n');
} else if (mode === 'hold') {
  // Holds the index until stdin closes, to make another process wait.
  await store.withIndex('holding for a test', async () => {
    process.stdout.write('holding\n');
    await new Promise((resolve) => process.stdin.on('end', resolve).resume());
  });
} else {
  throw new Error(`unknown mode ${mode}`);
}
