import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

// Debian's chromium (/usr/bin/chromium, which `weld doctor --profile test` installs),
// driven by playwright-core: headless, a fresh profile, nothing reaching the network
// beyond the loopback server under test. Every page error and console error is kept, so a
// test can assert there were none.

export const CHROMIUM = process.env['WELD_CHROMIUM'] ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  context: BrowserContext;
  /** a new page, its errors collected into `errors` */
  page(o?: { width: number; height: number }): Promise<Page>;
  errors: string[];
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'weld-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  return {
    context,
    errors,
    page: async (o) => {
      const page = await context.newPage();
      if (o) await page.setViewportSize(o);
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`);
      });
      return page;
    },
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
