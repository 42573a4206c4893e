import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '../../src/service/server.js';
import { git } from '../helpers/git.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from './fixture.js';

// Hostile and mistaken requests: each gets a clear 4xx naming what is wrong, and nothing
// is written (no job, no cache repository for a refused source).

describe('the build service refuses bad requests', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  let badCommit: string;
  beforeAll(async () => {
    fx = await serviceFixture({ slowLines: 40, slowPause: 0.05 });
    // a branch whose metadata is invalid
    git(fx.repo, 'checkout', '-q', '-b', 'bad');
    writeFileSync(path.join(fx.repo, 'metadata/packages/alpha.toml'), '[package]\nname = "alpha"\nversion = "1.0"\nkind = "wheel"\ncolour = "blue"\n');
    git(fx.repo, 'commit', '-q', '-am', 'break alpha');
    badCommit = git(fx.repo, 'rev-parse', 'HEAD');
    git(fx.repo, 'checkout', '-q', 'main');
    server = await fx.start();
  }, 120_000);
  afterAll(() => fx.cleanup());

  const good = () => ({ repository: fx.repo, ref: 'main', packages: ['alpha'] });
  const expectError = (r: { status: number; body: Record<string, unknown> }, status: number, code: string, text?: RegExp) => {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    const e = r.body['error'] as { code: string; message: string };
    expect(e.code).toBe(code);
    if (text) expect(e.message).toMatch(text);
    return e;
  };

  it('answers 400 for wrong types, unknown fields and bad names, naming the field', async () => {
    const cases: Array<[unknown, RegExp, string?]> = [
      [{ ...good(), repository: 1 }, /repository must be string/, 'repository'],
      [{ ...good(), packages: 'alpha' }, /packages must be array/, 'packages'],
      [{ ...good(), jobs: '2' }, /jobs must be integer/, 'jobs'],
      [{ ...good(), jobs: 0 }, /jobs must be >= 1/, 'jobs'],
      [{ ...good(), colour: 'blue' }, /unknown field "colour"/, 'colour'],
      [{ repository: fx.repo, packages: ['alpha'] }, /must have required property 'ref'/, 'ref'],
      [{ ...good(), packages: ['../etc'] }, /packages\.0 must match pattern/, 'packages.0'],
      [{ ...good(), packages: ['a/b'] }, /packages\.0 must match pattern/, 'packages.0'],
      [{ ...good(), packages: ['a..b'] }, /packages\.0 must match pattern/, 'packages.0'],
      [{ ...good(), packages: ['nosuch'] }, /no package named "nosuch"/, 'packages'],
      [{ ...good(), composes: ['nosuch'] }, /no compose named "nosuch"/, 'composes'],
      [{ repository: fx.repo, ref: 'main' }, /name the packages to build/, 'packages'],
      [{ ...good(), ref: '--upload-pack=touch /tmp/x' }, /ref .* starts with "-"/, 'ref'],
      [{ ...good(), ref: 'main..bad' }, /not a valid branch or tag name/, 'ref'],
      [{ ...good(), repository: 'ext::sh -c touch% /tmp/pwned' }, /whitespace|transport helper/, 'repository'],
      [{ ...good(), repository: 'ext::sh' }, /transport helper/, 'repository'],
      [{ ...good(), repository: 'relative/path' }, /neither an http\(s\):\/\/ URL nor an absolute path/, 'repository'],
      [{ ...good(), repository: 'https://user:secret@example.com/x.git' }, /credentials/, 'repository'],
      [{ ...good(), repository: `${fx.repo}/../..` }, /holds "\.\."/, 'repository'],
    ];
    for (const [body, text, field] of cases) {
      const r = await submit({ url: server.url, body });
      const e = expectError(r, 400, 'E_BAD_REQUEST', text) as { field?: string };
      if (field) expect(e.field, JSON.stringify(body)).toBe(field);
    }
    expectError(await submit({ url: server.url, body: '{"repository": ' }), 400, 'E_BAD_REQUEST', /JSON/);
    const asXml = await fetch(`${server.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<job/>' });
    expect(asXml.status).toBe(415);
    const asText = await fetch(`${server.url}/api/v1/jobs`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(asText.status).toBe(400);
  });

  it('answers 413 for a 10 MB body', async () => {
    const r = await submit({ url: server.url, body: { ...good(), packages: Array.from({ length: 1 }, () => 'a'.repeat(10 * 1024 * 1024)) } });
    expectError(r, 413, 'E_BODY_TOO_LARGE', /over the limit of 65536 bytes/);
  });

  it('answers 403 for a repository outside the allow-list, 404 for a missing ref, 422 for invalid metadata', { timeout: 60_000 }, async () => {
    expectError(await submit({ url: server.url, body: { ...good(), repository: '/etc' } }), 403, 'E_REPOSITORY_NOT_ALLOWED', /\/etc is not in this server's allow-list/);
    expectError(await submit({ url: server.url, body: { ...good(), repository: 'https://example.invalid/distro.git' } }), 403, 'E_REPOSITORY_NOT_ALLOWED');
    expectError(await submit({ url: server.url, body: { ...good(), repository: `file://${fx.tmp}` } }), 403, 'E_REPOSITORY_NOT_ALLOWED');
    // only the allowed repository (fetched for the 400s above that passed the source checks) has a cache
    expect(readdirSync(path.join(fx.tmp, 'state', 'repos'))).toHaveLength(1);
    expectError(await submit({ url: server.url, body: { ...good(), ref: 'no-such-branch' } }), 404, 'E_REF_NOT_FOUND', /no branch, tag or commit "no-such-branch"/);
    expectError(await submit({ url: server.url, body: { ...good(), ref: 'deadbeef'.repeat(5) } }), 404, 'E_REF_NOT_FOUND');
    const invalid = await submit({ url: server.url, body: { ...good(), ref: 'bad' } });
    const e = expectError(invalid, 422, 'E_METADATA_INVALID', /metadata has \d+ errors?/) as unknown as { diagnostics: Array<{ file: string; line: number; col: number; message: string }> };
    const colour = e.diagnostics.find((d) => d.message.includes('colour'));
    expect(colour, JSON.stringify(e.diagnostics)).toMatchObject({ file: `${badCommit}:metadata/packages/alpha.toml`, line: 5, col: 1 });
    expect(e.diagnostics.every((d) => d.file.startsWith(`${badCommit}:metadata/`) && d.line > 0 && d.col > 0)).toBe(true);
  });

  it('answers 400 for malformed ids and 404 for unknown ones and routes', async () => {
    for (const id of ['not-an-id', '01ARZ3NDEKTSV4RRFFQ69G5FA', '01ARZ3NDEKTSV4RRFFQ69G5FAVX', '01arz3ndektsv4rrffq69g5fav', "01ARZ3NDEKTSV4RRFFQ69G5FA'"]) {
      const r = await fetch(`${server.url}/api/v1/jobs/${id}`);
      expect(r.status, id).toBe(400);
      expect(((await r.json()) as { error: { code: string; field: string } }).error).toMatchObject({ code: 'E_BAD_REQUEST', field: 'params.id' });
    }
    // a dot-dot id is no route at all
    expect((await fetch(`${server.url}/api/v1/jobs/%2e%2e`)).status).toBe(404);
    const unknown = await fetch(`${server.url}/api/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV`);
    expect(unknown.status).toBe(404);
    const badPkg = await fetch(`${server.url}/api/v1/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/packages/..%2F..%2Fetc`);
    expect(badPkg.status).toBe(400);
    expect((await fetch(`${server.url}/api/v1/nothing`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/v1/jobs?state=bogus`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/v1/jobs?colour=blue`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/v1/jobs?page=0`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/v1/jobs?submitted_before=yesterday`)).status).toBe(400);
  });

  it('wrote no job for any refused request', async () => {
    const list = (await (await fetch(`${server.url}/api/v1/jobs`)).json()) as { total: number };
    expect(list.total).toBe(0);
  });

  it('answers 409 naming the identical job that is waiting or building', { timeout: 60_000 }, async () => {
    const first = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['slow'] } });
    expect(first.status).toBe(201);
    const twin = await submit({ url: server.url, body: { repository: `file://${fx.repo}`, ref: fx.commit, packages: ['slow'] } });
    const e = expectError(twin, 409, 'E_DUPLICATE_JOB') as unknown as { job: string };
    expect(e.job).toBe(first.body['id']);
    // two identical submissions at the same moment: one job, one 409
    const [x, y] = await Promise.all([0, 1].map(() => submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['slow'], composes: [], jobs: 3 } })));
    expect([x!.status, y!.status].sort()).toEqual([201, 409]);
    // other options make another job
    const other = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['slow'], jobs: 1 } });
    expect(other.status).toBe(201);
    await waitForState({ url: server.url, id: first.body['id'] as string, states: ['ready'] });
    await waitForState({ url: server.url, id: other.body['id'] as string, states: ['ready'] });
    // once it has ended, the same job may be submitted again
    const later = await submit({ url: server.url, body: { repository: fx.repo, ref: 'main', packages: ['slow'] } });
    expect(later.status).toBe(201);
    await waitForState({ url: server.url, id: later.body['id'] as string, states: ['ready'] });
  });
});
