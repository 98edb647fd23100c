// Writes docs/images/dashboard.png, the README's picture of the dashboard:
// opens a dashboard URL in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core) at 1280x800, waits until the service graph has
// traffic, chooses the newest trace, and takes the picture. Run by hand:
//   npx tsc -p . && node dist/bench/dashboard-screenshot.js [URL] [--out FILE]
// Without a URL it starts `isthmus up` (the demo), reads the dashboard URL
// from its output, and stops it afterwards. Requests that would leave
// 127.0.0.1 are refused, as in the e2e test.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const DASHBOARD_URL = /http:\/\/127\.0\.0\.1:\d+\/dashboard\b/;

function startDemo(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'isthmus.js'), 'up'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolvePromise, reject) => {
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGINT');
      reject(new Error(`isthmus up printed no dashboard URL within 60 s:\n${seen.slice(-2000)}`));
    }, 60_000);
    const look = (chunk: Buffer): void => {
      seen += chunk.toString();
      const m = DASHBOARD_URL.exec(seen);
      if (m !== null) {
        clearTimeout(timer);
        resolvePromise({ child, url: m[0] });
      }
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`isthmus up exited (${code}) before printing a dashboard URL:\n${seen.slice(-2000)}`));
    });
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf('--out');
  const out = resolve(outIndex >= 0 ? args[outIndex + 1]! : join(ROOT, 'docs', 'images', 'dashboard.png'));
  const given = args.find((a, i) => !a.startsWith('--') && (outIndex < 0 || i !== outIndex + 1));
  const demo = given === undefined ? await startDemo() : null;
  const url = given ?? demo!.url;
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.route('**/*', (route) => {
      const u = new URL(route.request().url());
      return u.hostname === '127.0.0.1' || u.protocol === 'data:' ? route.continue() : route.abort();
    });
    await page.goto(url);
    // Until an edge shows traffic (two pulls), at most a minute.
    const edges = page.getByRole('table', { name: 'Service graph edges' }).locator('tbody tr td.num');
    for (let i = 0; i < 60; i++) {
      const rates = await edges.allTextContents();
      if (rates.some((r) => Number(r) > 0)) break;
      await page.waitForTimeout(1000);
    }
    const trace = page.locator('#trace-list button').first();
    if (await trace.count() > 0) {
      await trace.click();
      await page.waitForTimeout(500);
    }
    await page.mouse.wheel(0, -10_000);
    mkdirSync(dirname(out), { recursive: true });
    await page.screenshot({ path: out });
    process.stdout.write(`wrote ${out} from ${url}\n`);
  } finally {
    await browser.close();
    if (demo !== null) {
      demo.child.kill('SIGINT');
      await new Promise((r) => demo.child.once('exit', r));
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`dashboard-screenshot: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
