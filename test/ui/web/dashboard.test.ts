import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { DEFAULT_WEB_DIR } from '../../../src/service/web.js';
import { readBackendsFile, writeBackendsFile } from '../../../src/runner/backends/config.js';
import { BackendPool } from '../../../src/runner/backends/pool.js';
import { addToken } from '../../../src/service/tokens.js';
import type { RunningService } from '../../../src/service/server.js';
import { openBrowser, type Browser } from '../../helpers/browser.js';
import { serviceFixture, submit, waitForState, type ServiceFixture } from '../../service/fixture.js';

// The dashboard in a real browser (Debian's chromium through playwright-core) against a
// real weld server (local runner, the service tests' sample project): a job submitted
// through the API is watched on its page without a reload — packages change state, log
// lines arrive — then canceled from the page with a token, and the API reports it. No
// page error and no console error along the way. WELD_UPDATE_SCREENSHOTS=1 writes the
// README's screenshots of the job page (1280×800 and 390×844) into docs/img/.

const repoRoot = path.resolve(import.meta.dirname, '../../..');

describe('the web dashboard in chromium', () => {
  let fx: ServiceFixture;
  let server: RunningService;
  let browser: Browser;
  let token: string;
  beforeAll(async () => {
    if (!existsSync(path.join(DEFAULT_WEB_DIR, 'index.html'))) throw new Error(`no dashboard bundle in ${DEFAULT_WEB_DIR}: run npm run build:web (npm ci and npm test do)`);
    // slow prints for a minute: long enough to be canceled on a loaded machine, never waited for in full
    fx = await serviceFixture({ slowLines: 1200, slowPause: 0.05 });
    const stateDir = path.join(fx.tmp, 'state');
    const t = addToken({ stateDir, name: 'ci', role: 'submit' });
    if (!t.ok) throw t.error;
    token = t.value.secret;
    server = await fx.start({ stateDir });
    browser = await openBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await fx?.cleanup();
  });

  it('shows a job live, lets a signed-in token cancel it, and the API reports it canceled', { timeout: 120_000 }, async () => {
    const page = await browser.page({ width: 1280, height: 800 });
    await page.goto(`${server.url}/`);
    await page.getByRole('heading', { name: 'Jobs' }).waitFor();

    const r = await submit({ url: server.url, token, body: { repository: fx.repo, ref: 'main', packages: ['beta', 'slow'] } });
    expect(r.status).toBe(201);
    const id = r.body['id'] as string;
    // the list picks the job up from /events, no reload
    const row = page.locator(`tr[data-job="${id}"]`);
    await row.waitFor({ timeout: 40_000 });

    await row.getByRole('link').click();
    await page.waitForURL(`**/jobs/${id}`);
    await page.locator('svg.graph[data-ready="true"]').waitFor();
    const node = (pkg: string) => page.locator(`svg.graph g.node[data-package="${pkg}"]`);
    // every package of the job is in the graph, with its edge to what it requires
    for (const p of ['alpha', 'beta', 'slow']) await node(p).waitFor();
    // states change on the page while it stays loaded: alpha and beta build, slow runs
    await page.locator('svg.graph g.node[data-package="beta"][data-state="built"]').waitFor({ timeout: 40_000 });
    await page.locator('svg.graph g.node[data-package="alpha"][data-state="built"]').waitFor();
    await page.locator('svg.graph g.node[data-package="slow"][data-state="building"]').waitFor({ timeout: 40_000 });

    // slow's own log, live
    await node('slow').click();
    await page.getByRole('heading', { name: /Log of slow/ }).waitFor();
    const count = page.getByTestId('log-count');
    await page.getByRole('log').getByText(/line \d+$/).first().waitFor({ timeout: 40_000 });
    const before = Number(await count.textContent());
    await page.waitForFunction((n) => Number(document.querySelector('[data-testid="log-count"]')?.textContent) > n + 5, before, { timeout: 40_000 });

    // outputs with their digests, from the package events
    await node('alpha').click();
    await page.getByRole('table').filter({ hasText: 'Outputs' }).getByText(/sha256:[0-9a-f]{64}/).first().waitFor();
    await page.getByRole('link', { name: 'provenance' }).waitFor();

    if (process.env['WELD_UPDATE_SCREENSHOTS']) {
      const dir = path.join(repoRoot, 'docs/img');
      mkdirSync(dir, { recursive: true });
      await node('slow').click();
      await page.waitForTimeout(500);
      await page.screenshot({ path: path.join(dir, 'dashboard-job.png') });
      const phone = await browser.page({ width: 390, height: 844 });
      await phone.goto(`${server.url}/jobs/${id}`);
      await phone.locator('svg.graph[data-ready="true"]').waitFor();
      await phone.waitForTimeout(500);
      await phone.screenshot({ path: path.join(dir, 'dashboard-job-phone.png') });
      await phone.close();
    }

    // cancel: not possible before signing in (the server has tokens), then by keyboard
    const cancel = page.getByRole('button', { name: 'Cancel job' });
    expect(await cancel.isDisabled()).toBe(true);
    await page.getByLabel('Token', { exact: true }).fill(token);
    await page.getByLabel('Token', { exact: true }).press('Enter');
    await page.getByText('signed in as').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('weld.token'))).toBe(token);
    await cancel.focus();
    await page.keyboard.press('Enter');
    await page.locator('h1 .badge.s-failed').waitFor({ timeout: 40_000 });
    await page.locator('svg.graph g.node[data-package="slow"][data-state="canceled"]').waitFor();

    const job = await waitForState({ url: server.url, id, states: ['failed', 'ready'] });
    expect(job['state']).toBe('failed');
    expect((job['error'] as { code: string }).code).toBe('E_CANCELED');
    expect((job['packageStates'] as Record<string, { state: string }>)['slow']!.state).toBe('canceled');
    expect(String((job['transitions'] as Array<{ reason: string }>).at(-1)!.reason)).toContain('canceled by ci');
    await page.close();
    expect(browser.errors).toEqual([]);
  });

  it('drives a job by keyboard alone: to the job, a package in the graph and in the list, its log, Escape, sign-in and cancel', { timeout: 120_000 }, async () => {
    const r = await submit({ url: server.url, token, body: { repository: fx.repo, ref: 'main', packages: ['beta', 'slow'] } });
    expect(r.status).toBe(201);
    const id = r.body['id'] as string;
    const page = await browser.page({ width: 1280, height: 800 });
    // a failure below must not leave slow running for the tests after this one
    onTestFailed(() => void fetch(`${server.url}/api/v1/jobs/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }));
    await page.goto(`${server.url}/`);
    await page.locator(`tr[data-job="${id}"]`).waitFor({ timeout: 40_000 });
    const active = () => page.evaluate(() => {
      const a = document.activeElement;
      return { tag: a?.tagName.toLowerCase(), id: a?.id, text: a?.textContent?.trim(), label: a?.getAttribute('aria-label'), role: a?.getAttribute('role'), pkg: a?.closest('[data-package]')?.getAttribute('data-package') ?? undefined, href: a?.getAttribute('href'), inGraph: !!a?.closest('svg.graph'), inList: !!a?.closest('.ptable-body') };
    });
    /** Tab (or Shift+Tab) until `want` holds for the focused element; fails after `max` presses. */
    const tabTo = async (want: (a: Awaited<ReturnType<typeof active>>) => boolean, o: { back?: boolean; max?: number } = {}) => {
      for (let i = 0; i < (o.max ?? 60); i++) {
        await page.keyboard.press(o.back ? 'Shift+Tab' : 'Tab');
        const a = await active();
        if (want(a)) return a;
      }
      throw new Error(`no focusable element as wanted within ${o.max ?? 60} presses of ${o.back ? 'Shift+Tab' : 'Tab'}; at ${JSON.stringify(await active())}`);
    };

    // from the jobs list to the job
    await tabTo((a) => a.href === `/jobs/${id}`);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/jobs/${id}`);
    await page.locator('svg.graph[data-ready="true"]').waitFor();
    await page.locator('svg.graph g.node[data-package="slow"][data-state="building"]').waitFor({ timeout: 40_000 });

    // the graph is one tab stop: its first package (alpha, layer 0), named with its state
    const first = await tabTo((a) => a.inGraph);
    expect(first).toMatchObject({ role: 'button', pkg: 'alpha' });
    expect(first.label).toMatch(/^alpha: (waiting|building|built|cached)$/);
    // a visible focus ring round the focused node
    expect(await page.locator('svg.graph g.node[data-package="alpha"] rect.ring').evaluate((el) => getComputedStyle(el).stroke)).not.toBe('none');
    // ↓ in layer 0 is slow; → goes to layer 1's nearest row (beta, its only one), ← to layer 0's first row
    await page.keyboard.press('ArrowDown');
    expect(await active()).toMatchObject({ pkg: 'slow', label: 'slow: building' });
    await page.keyboard.press('ArrowRight');
    expect((await active()).pkg).toBe('beta');
    await page.keyboard.press('ArrowLeft');
    expect((await active()).pkg).toBe('alpha');
    await page.keyboard.press('End');
    expect((await active()).pkg).toBe('slow');
    expect(await page.locator('svg.graph g.node[data-package="alpha"] rect.ring').evaluate((el) => getComputedStyle(el).stroke)).toBe('none');

    // Enter selects slow: its detail takes focus, the log panel is slow's, live
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /Log of slow/ }).waitFor();
    expect(await active()).toMatchObject({ tag: 'h2', pkg: undefined });
    expect((await active()).text).toMatch(/^slow/);
    expect(await page.locator('svg.graph g.node[data-package="slow"]').getAttribute('aria-pressed')).toBe('true');
    await page.getByRole('log', { name: "slow's log" }).getByText(/line \d+$/).first().waitFor({ timeout: 40_000 });
    // Escape closes it and gives focus back to slow's node
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Job log' }).waitFor();
    expect(await page.getByRole('heading', { name: /^slow/ }).count()).toBe(0);
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-package') === 'slow');

    // the list: each row's name is a button named with the package and its state; ↓ moves, Space selects
    const row = await tabTo((a) => a.inList);
    expect(row.tag).toBe('button');
    expect(row.label).toBe(`${row.pkg}: ${await page.locator(`.prow[data-package="${row.pkg}"]`).getAttribute('data-state')}`);
    expect(await page.locator(`.prow[data-package="${row.pkg}"]`).evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('solid');
    const names = await page.locator('.prow').evaluateAll((els) => els.map((e) => e.getAttribute('data-package')));
    const next = names[names.indexOf(row.pkg!) + 1]!;
    await page.keyboard.press('ArrowDown');
    expect((await active()).pkg).toBe(next);
    await page.keyboard.press(' ');
    await page.getByRole('heading', { name: `Log of ${next}` }).waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('heading', { name: 'Job log' }).waitFor();
    expect((await active()).pkg).toBe(next);

    // sign in and cancel, by keyboard: the token field is in the header, before the page
    const cancel = page.getByRole('button', { name: 'Cancel job' });
    expect(await cancel.isDisabled()).toBe(true);
    await tabTo((a) => a.id === 'token', { back: true });
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await page.getByText('signed in as').waitFor();
    await cancel.and(page.locator(':enabled')).waitFor();
    await tabTo((a) => a.text === 'Cancel job');
    await page.keyboard.press('Enter');
    await page.locator('h1 .badge.s-failed').waitFor({ timeout: 40_000 });
    const job = await waitForState({ url: server.url, id, states: ['failed', 'ready'] });
    expect((job['error'] as { code: string }).code).toBe('E_CANCELED');
    expect((job['packageStates'] as Record<string, { state: string }>)['slow']!.state).toBe('canceled');
    await page.close();
    expect(browser.errors).toEqual([]);
  });

  it('has a skip link first in the tab order, and the backends, store and history pages read the API', { timeout: 60_000 }, async () => {
    const page = await browser.page({ width: 390, height: 844 });
    await page.goto(`${server.url}/backends`);
    await page.getByRole('heading', { name: 'Backends' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    // no GET /backends on this server: the page says there are none
    await page.getByText('This server has no backends configured').waitFor();

    await page.getByRole('link', { name: 'Store' }).click();
    await page.getByTestId('store-size').getByText(/\d+ blobs/).waitFor();
    await page.getByText(/\d+ build/).first().waitFor();
    await page.getByText('none configured').waitFor();
    await page.getByRole('textbox', { name: 'Package' }).fill('alpha');
    await page.getByRole('button', { name: 'Show its builds' }).click();
    await page.waitForURL('**/packages/alpha');
    await page.getByText('First build for').waitFor();
    // a reload of a client route is the page again (the server's fallback), not a 404
    await page.reload();
    await page.getByRole('heading', { name: /Builds of/ }).waitFor();
    // an unknown page says so
    await page.goto(`${server.url}/no/such/page`);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    await page.close();
    // The one failed load the page expects: GET /backends is 404 on a server without backends
    // (the API's answer for it), and chromium logs every 4xx load on the console.
    expect(browser.errors.filter((e) => !/status of 404 .*\/api\/v1\/backends\)$/.test(e))).toEqual([]);
  });

  it('lists the backends of a server that has them: arch, labels, load and health, kept current', { timeout: 60_000 }, async () => {
    // As `weld server --backends FILE` does: the file read into one pool that every job's runner
    // shares. Load and health are the pool's own counts: three builds leased on z1, and qemu1
    // failed three times in a row (so it is skipped for a while).
    const file = path.join(fx.tmp, 'backends/backends.toml');
    mkdirSync(path.dirname(file), { recursive: true });
    const written = writeBackendsFile({
      file,
      backends: [
        { name: 'z1', url: 'ssh://weld@z1.example.com/run/podman/podman.sock', arch: 's390x', labels: { cpu: 'native' }, maxJobs: 4 },
        { name: 'qemu1', url: 'tcp://10.0.0.5:8888', arch: 'ppc64el', labels: { emulated: 'qemu', size: 'big' }, maxJobs: 2 },
        { name: 'arm1', url: 'unix:///run/podman/podman.sock', arch: 'arm64', labels: {}, maxJobs: 1 },
      ],
    });
    if (!written.ok) throw written.error;
    const configured = readBackendsFile(file);
    if (!configured.ok) throw configured.error;
    const pool = new BackendPool({ backends: configured.value });
    const lease = async (arch: string) => {
      const l = await pool.acquire({ arch, labels: {} });
      if (!l.ok) throw new Error(String(l.error));
      return l.value;
    };
    const z1 = [await lease('s390x'), await lease('s390x'), await lease('s390x')];
    for (let i = 0; i < 3; i++) (await lease('ppc64el')).release(false);
    const withBackends = await fx.start({ stateDir: path.join(fx.tmp, 'state-backends'), storePath: path.join(fx.tmp, 'store-backends'), backends: { pool, file } });

    const page = await browser.page({ width: 1280, height: 800 });
    await page.goto(`${withBackends.url}/backends`);
    const table = page.getByRole('table');
    await table.waitFor();
    const rows = async () => table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent!.replace(/\s+/g, ' ').trim())));
    expect(await table.locator('thead th').allTextContents()).toEqual(['Name', 'URL', 'Arch', 'Labels', 'Load', 'Health']);
    const shown = await rows();
    expect(shown.map((r) => r.slice(0, 5))).toEqual([
      ['z1', 'ssh://weld@z1.example.com/run/podman/podman.sock', 's390x', 'cpu=native', '3/4'],
      ['qemu1', 'tcp://10.0.0.5:8888', 'ppc64el', 'emulated=qemu, size=big', '0/2'],
      ['arm1', 'unix:///run/podman/podman.sock', 'arm64', '—', '0/1'],
    ]);
    expect(shown[0]![5]).toBe('healthy');
    expect(shown[1]![5]).toMatch(/^unhealthy 3 failures · skipped until \S/);
    expect(shown[2]![5]).toBe('healthy');
    expect(await page.getByRole('meter', { name: '3 of 4 builds' }).getAttribute('value')).toBe('3');
    expect(await table.locator('tbody tr').nth(1).locator('.badge.s-failed').textContent()).toBe('unhealthy');

    // the page reads the list again every few seconds: a build ending on z1 shows without a reload
    z1[0]!.release(true);
    await page.getByRole('meter', { name: '2 of 4 builds' }).waitFor({ timeout: 20_000 });
    expect((await rows())[0]![4]).toBe('2/4');
    for (const l of z1) l.release(true);
    await page.close();
    expect(browser.errors.filter((e) => !/status of 404 .*\/api\/v1\/backends\)$/.test(e))).toEqual([]);
  });

  it('fits 1280×800 and a phone (390×844) without horizontal scrolling: the jobs page, a job, a selected package', { timeout: 90_000 }, async () => {
    // a failed job (broken's recipe fails, after-broken is skipped: the error, every end state) and a
    // ready one (its wheelhouse: the links and the long pip install command)
    const ids: string[] = [];
    for (const packages of [['alpha', 'beta', 'after-broken'], ['alpha', 'beta']]) {
      const r = await submit({ url: server.url, token, body: { repository: fx.repo, ref: 'main', packages, composes: ['good'] } });
      expect(r.status).toBe(201);
      ids.push(r.body['id'] as string);
    }
    const [failed, ready] = ids as [string, string];
    expect((await waitForState({ url: server.url, id: failed, states: ['ready', 'failed'] }))['state']).toBe('failed');
    expect((await waitForState({ url: server.url, id: ready, states: ['ready', 'failed'] }))['state']).toBe('ready');
    for (const size of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
      const page = await browser.page(size);
      /** what is wider than the window, when the page scrolls sideways */
      const overflow = () =>
        page.evaluate(() => {
          const doc = document.documentElement;
          if (doc.scrollWidth <= window.innerWidth) return [];
          return [`${doc.scrollWidth} > ${window.innerWidth}`, ...[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5).slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className}`)];
        });
      await page.goto(`${server.url}/`);
      for (const id of ids) await page.locator(`tr[data-job="${id}"]`).waitFor();
      expect(await overflow(), `the jobs page at ${size.width}×${size.height}`).toEqual([]);
      for (const id of ids) {
        const what = `job ${id === failed ? 'failed' : 'ready'} at ${size.width}×${size.height}`;
        await page.goto(`${server.url}/jobs/${id}`);
        await page.locator('svg.graph[data-ready="true"]').waitFor();
        await page.getByRole('heading', { name: 'Transitions' }).waitFor();
        if (id === ready) await page.getByLabel('pip install command').waitFor();
        else await page.locator('.facts .error-text').waitFor();
        expect(await overflow(), what).toEqual([]);
        await page.locator('svg.graph g.node[data-package="alpha"]').click();
        await page.getByRole('table').filter({ hasText: 'Outputs' }).waitFor();
        await page.getByRole('link', { name: 'provenance' }).waitFor();
        expect(await overflow(), `${what}, alpha selected`).toEqual([]);
      }
      await page.close();
    }
    expect(browser.errors.filter((e) => !/status of 404 .*\/api\/v1\/backends\)$/.test(e))).toEqual([]);
  });

  it("shows a finished job's composes with the pip command and SBOM, and its row in the list as ready", { timeout: 60_000 }, async () => {
    const r = await submit({ url: server.url, token, body: { repository: fx.repo, ref: 'main', packages: ['alpha'], composes: ['good'] } });
    expect(r.status).toBe(201);
    const id = r.body['id'] as string;
    await waitForState({ url: server.url, id, states: ['ready', 'failed'] });
    const page = await browser.page({ width: 1280, height: 800 });
    await page.goto(`${server.url}/?state=ready`);
    await page.locator(`tr[data-job="${id}"] .badge.s-ready`).waitFor();
    // the filter is the API's: no failed job in a list of ready ones
    expect(await page.locator('tbody .badge.s-failed').count()).toBe(0);
    await page.goto(`${server.url}/jobs/${id}`);
    const pip = page.getByLabel('pip install command');
    await pip.waitFor();
    expect(await pip.textContent()).toBe(`pip install --index-url ${server.url}/wheelhouses/${id}/good/simple/ alpha`);
    const sbom = await page.getByRole('link', { name: 'SBOM (CycloneDX)' }).getAttribute('href');
    const doc = (await (await fetch(`${server.url}${sbom}`)).json()) as { bomFormat: string };
    expect(doc.bomFormat).toBe('CycloneDX');
    await page.close();
    expect(browser.errors.filter((e) => !/status of 404 .*\/api\/v1\/backends\)$/.test(e))).toEqual([]);
  });
});
