// A headless Chromium page (Debian's /usr/bin/chromium, driven by
// playwright-core) that records what a dashboard test asserts is absent: any
// console error or uncaught page error, and any request that would leave
// 127.0.0.1 (aborted, and its URL kept).
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface LoopbackPage {
  readonly browser: Browser;
  readonly page: Page;
  /** Console errors and uncaught exceptions, in order. */
  readonly consoleErrors: string[];
  /** URLs the page asked for beyond 127.0.0.1 (each aborted). */
  readonly offLoopback: string[];
}

/** Takes a URL; launches Chromium, opens the URL at 1280x800 and returns the page with its error and off-loopback logs. */
export async function openLoopbackPage(url: string): Promise<LoopbackPage> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const consoleErrors: string[] = [];
  const offLoopback: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (err) => consoleErrors.push(err.message));
  await page.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (u.hostname === '127.0.0.1' || u.protocol === 'data:') return route.continue();
    offLoopback.push(u.href);
    return route.abort();
  });
  await page.goto(url);
  return { browser, page, consoleErrors, offLoopback };
}
