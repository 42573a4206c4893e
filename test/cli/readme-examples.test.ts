import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, sampleProject, weld } from '../helpers/project.js';

// The README's examples that come from the sample distro are compared with what weld
// prints today, so they cannot drift from the code.

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** The lines after `$ weld <command>` in the README's code block that shows it. */
function example(command: string): string {
  const start = README.indexOf(`\`\`\`\n$ weld ${command}\n`);
  if (start < 0) throw new Error(`README has no example of "weld ${command}"`);
  const body = README.slice(start + `\`\`\`\n$ weld ${command}\n`.length);
  return body.slice(0, body.indexOf('```\n'));
}

describe('README examples', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it('weld graph prints the sample build order as shown', async () => {
    const p = sampleProject();
    cleanup = p.cleanup;
    const r = await weld(['graph'], { cwd: p.root });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(example('graph'));
  });

  it('weld check prints the two mistakes as shown', async () => {
    const p = sampleProject();
    cleanup = p.cleanup;
    const edit = (file: string, from: RegExp, to: string) => {
      const f = path.join(p.root, 'metadata/packages', file);
      const text = readFileSync(f, 'utf8');
      expect(text).toMatch(from);
      writeFileSync(f, text.replace(from, to));
    };
    edit('pyyaml.toml', /"libyaml"/, '"libyml"');
    edit('toml.toml', /^recipe =/m, 'recipie =');
    const r = await weld(['check'], { cwd: p.root });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toBe(example('check'));
  });
});
