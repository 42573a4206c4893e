import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committerTime, committerTimeInProcess } from '../../src/session/source-tree.js';
import { git } from '../helpers/git.js';

// SOURCE_DATE_EPOCH comes from the distro commit: by a git process, or read in-process
// when many are needed at once. Both must give the same second, packed or loose.
describe('committer times of mirror commits', () => {
  let dir = '';
  let gitdir = '';
  const commits: string[] = [];
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'weld-ct-'));
    const work = path.join(dir, 'work');
    execFileSync('git', ['init', '-q', '-b', 'main', work]);
    for (const [i, date] of ['2001-02-03T04:05:06Z', '2023-03-01T12:00:00+05:30'].entries()) {
      writeFileSync(path.join(work, 'f'), String(i));
      git(work, 'add', 'f');
      execFileSync('git', ['commit', '-q', '-m', `c${i}`], { cwd: work, env: { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@a', GIT_COMMITTER_NAME: 'c', GIT_COMMITTER_EMAIL: 'c@c', GIT_COMMITTER_DATE: date, GIT_AUTHOR_DATE: '1990-01-01T00:00:00Z' } });
      commits.push(git(work, 'rev-parse', 'HEAD'));
    }
    gitdir = path.join(dir, 'mirror.git');
    execFileSync('git', ['clone', '-q', '--bare', work, gitdir]); // a clone packs its objects
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the committer time (not the author time) the same way in both', async () => {
    const cache = {};
    for (const [commit, want] of [[commits[0]!, 981173106], [commits[1]!, 1677652200]] as const) {
      const a = await committerTime({ gitdir, commit });
      const b = await committerTimeInProcess({ gitdir, commit, cache });
      expect(a.ok && a.value).toBe(want);
      expect(b.ok && b.value).toBe(want);
    }
  });

  it('fails both ways for a commit the mirror lacks, saying to mirror', async () => {
    const missing = 'f'.repeat(40);
    for (const r of [await committerTime({ gitdir, commit: missing }), await committerTimeInProcess({ gitdir, commit: missing, cache: {} })]) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.hint).toBe('run `weld mirror` for the package');
    }
  });
});
