import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Deterministic PRNG (mulberry32), so every run benchmarks the same distro. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Writes a project of `count` packages whose build graph is a random DAG up to
 * `depth` levels deep: each package sits on a level and requires one to three
 * packages of lower levels, one of them from the level just below.
 */
export function writeSyntheticDistro(opts: { root: string; repoRoot: string; count: number; depth: number; seed?: number; matrix?: boolean }): void {
  const { root, count, depth } = opts;
  const rand = rng(opts.seed ?? 42);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  mkdirSync(path.join(root, 'metadata/packages'), { recursive: true });
  mkdirSync(path.join(root, 'metadata/composes'), { recursive: true });
  cpSync(path.join(opts.repoRoot, 'metadata/envs'), path.join(root, 'metadata/envs'), { recursive: true });
  cpSync(path.join(opts.repoRoot, 'recipes'), path.join(root, 'recipes'), { recursive: true });
  if (opts.matrix) {
    // Two targets, as the matrix e2e has them: s390x and ppc64el, bookworm's CPython 3.11 each.
    cpSync(path.join(opts.repoRoot, 'test/fixtures/matrix/metadata/envs'), path.join(root, 'metadata/envs'), { recursive: true });
    const target = (name: string, arch: string) => `[[target]]\nname = "${name}"\narch = "${arch}"\nenv = "bookworm-${arch}"\nruntime_env = "bookworm-${arch}-runtime"\n\n`;
    writeFileSync(path.join(root, 'metadata/weld.toml'), `[distro]\nname = "synthetic"\n\n${target('s390x-py311', 's390x')}${target('ppc64el-py311', 'ppc64el')}`);
  } else writeFileSync(path.join(root, 'metadata/weld.toml'), '[distro]\nname = "synthetic"\narch = "s390x"\nenv = "bookworm-s390x"\n');
  writeFileSync(path.join(root, 'metadata/composes/default.toml'), '[compose]\nkind = "wheelhouse"\n');

  const levels: string[][] = Array.from({ length: depth }, () => []);
  const names = Array.from({ length: count }, (_, i) => `pkg-${String(i).padStart(4, '0')}`);
  names.forEach((n, i) => levels[i < depth ? i : Math.floor(rand() * depth)]!.push(n));
  for (const [level, members] of levels.entries()) {
    for (const name of members) {
      const requires = new Set<string>();
      if (level > 0) {
        requires.add(pick(levels[level - 1]!));
        const extra = Math.floor(rand() * 3);
        for (let k = 0; k < extra; k++) requires.add(pick(levels[Math.floor(rand() * level)]!));
      }
      const upstream =
        rand() < 0.5
          ? `debian = "${name}"`
          : rand() < 0.5
            ? `git = "https://git.example.org/${name}.git"\ntag = "v1.${level}.0"`
            : `tarball = "https://example.org/${name}-1.${level}.0.tar.gz"\nsha256 = "${'0123456789abcdef'.repeat(4)}"`;
      writeFileSync(
        path.join(root, 'metadata/packages', `${name}.toml`),
        `[package]\nname = "${name}"\nversion = "1.${level}.0"\nrelease = 1\nkind = "${level === 0 ? 'pack' : 'wheel'}"\nsummary = "synthetic package on level ${level}"\n\n` +
          `[upstream]\n${upstream}\n\n[build]\nrecipe = "${level === 0 ? 'autotools-pack' : 'python-wheel'}"\nrequires = [${[...requires].map((r) => `"${r}"`).join(', ')}]\n` +
          (level > 0 ? `\n[test]\nimports = ["${name.replace('-', '_')}"]\n` : ''),
      );
    }
  }
}
