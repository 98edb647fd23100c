// `isthmus up` end to end, as `npm start` runs it: the real CLI starts a
// control plane, six apps and six sidecars (tokens, mTLS) from a copy of
// examples/bookinfo; the page answers through the sidecars with reviews from
// the versions of the split; an edit of the copied split moves the traffic;
// end-user jason gets the ratings fault; SIGINT leaves no process behind.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processTree } from '../../bench/process-sampler.js';
import { waitFor } from './harness.js';
import { missingEndpoints } from '../../examples/up/endpoint-convergence.js';
import { planPorts } from '../../examples/up/port-plan.js';
import { bookinfoCopy, freeDemoPorts, isAlive, startUpDemo } from './up-demo.js';

interface Page { status: number; version: string | null; text: string }

async function page(url: string, headers: Record<string, string> = {}): Promise<Page> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, version: /id="reviews-version">reviews-(v\d)</.exec(text)?.[1] ?? null, text };
}

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

describe('isthmus up (the Bookinfo demo)', () => {
  it('answers through the sidecars, follows an edit of the split, faults jason, and SIGINT stops every process', async () => {
    const configDir = bookinfoCopy('isthmus-up-config-');
    temps.push(configDir);
    const from = await freeDemoPorts();
    const up = startUpDemo(['--no-traffic', '--ports-from', String(from), '--config-dir', configDir]);
    const demo = up.process;
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    try {
      const appUrl = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no App URL after 120 s; output:\n${up.output()}`)), 120_000);
        const check = (): void => {
          const m = /App:\s+(http:\/\/127\.0\.0\.1:\d+\/productpage)/.exec(up.output());
          if (m !== null) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        demo.stdout!.on('data', check);
        void exited.then((code) => reject(new Error(`isthmus up exited (code ${code}) before printing the URLs:\n${up.output()}`)));
      });
      expect(appUrl).toBe(`http://127.0.0.1:${from}/productpage`);
      // The URLs come once every sidecar lists every workload, so no first page meets a version not yet pushed.
      expect(await missingEndpoints(planPorts(from))).toEqual([]);
      expect(up.output(), up.output()).not.toMatch(/still no endpoint|admin port does not answer|could not apply config/);
      expect(up.output()).toContain(`Dashboard:  http://127.0.0.1:${from + 1}/dashboard`);
      expect(up.output()).toContain(join(configDir, 'reviews-split.yaml'));
      expect(up.output()).toContain("curl -s -H 'end-user: jason'");
      // control + 6 apps + 6 sidecars, all children of the demo.
      const children = processTree(demo.pid!).filter((pid) => pid !== demo.pid);
      expect(children.length).toBeGreaterThanOrEqual(13);

      // The 50/25/25 split: the page shows each version as the app renders it (v1 no stars, v2 black, v3 red).
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 3; i++) {
        const p = await page(appUrl);
        expect(p.status).toBe(200);
        expect(p.text).toContain('William Shakespeare'); // details, through productpage's sidecar and details'
        expect(p.version, p.text).not.toBeNull();
        seen.add(p.version!);
        if (p.version === 'v1') expect(p.text).not.toContain('class="stars"');
        if (p.version === 'v2') expect(p.text).toContain('5 of 5 stars, black');
        if (p.version === 'v3') expect(p.text).toContain('5 of 5 stars, red');
      }
      expect(seen.size, [...seen].join()).toBeGreaterThanOrEqual(2);

      // jason: ratings answers 500 for him (the fault), so v2 and v3 show the error instead of stars.
      const jason = await waitFor('a v2/v3 page for jason', async () => {
        const p = await page(appUrl, { 'end-user': 'jason' });
        return p.version === 'v2' || p.version === 'v3' ? p : null;
      }, 30_000);
      expect(jason.text).toContain('Ratings service is currently unavailable');
      expect(jason.text).not.toContain('class="stars"');

      // Edit the copy's split to 100% v3: every page shows red stars soon after.
      const split = join(configDir, 'reviews-split.yaml');
      writeFileSync(split, readFileSync(split, 'utf8').replace(/weight: 50/, 'weight: 0').replace(/(subset: v2\}\n\s+weight:) 25/, '$1 0').replace(/(subset: v3\}\n\s+weight:) 25/, '$1 100'));
      expect(readFileSync(split, 'utf8')).toMatch(/subset: v3\}\n\s+weight: 100/);
      await waitFor('10 pages in a row from reviews v3', async () => {
        for (let i = 0; i < 10; i++) if ((await page(appUrl)).version !== 'v3') return null;
        return true;
      }, 30_000);

      // Supervision: an app that dies is reported and restarted, and the page is whole again.
      const details = children.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('details.mjs'));
      expect(details).toBeDefined();
      process.kill(details!, 'SIGKILL');
      await waitFor('details restarted', async () => (up.output().includes('details-v1 is back') ? true : null), 30_000);
      expect(up.output()).toMatch(/details-v1 exited \(SIGKILL\); restarting it \(1\/3\)/);
      await waitFor('details on the page again', async () => ((await page(appUrl)).text.includes('William Shakespeare') ? true : null), 20_000);
      const restarted = processTree(demo.pid!).filter((pid) => pid !== demo.pid && !children.includes(pid));
      children.push(...restarted);

      demo.kill('SIGINT');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
      expect(code, up.output()).toBe(0);
      await waitFor('every child gone', async () => (children.every((pid) => !isAlive(pid)) ? true : null), 5000)
        .catch(() => undefined);
      for (const pid of children) expect(isAlive(pid), `child ${pid} still running`).toBe(false);
    } finally {
      if (demo.exitCode === null) demo.kill('SIGKILL');
    }
  }, 240_000);

  it('leaves no process behind when the demo itself is killed with SIGKILL (children watch its IPC channel)', async () => {
    const from = await freeDemoPorts();
    const up = startUpDemo(['--ports-from', String(from)]);
    const demo = up.process;
    try {
      await waitFor('the App URL', async () => (up.output().includes('App:') ? true : null), 120_000);
      expect(up.output()).toContain('Demo traffic: 3 requests a second');
      expect(up.output(), up.output()).not.toMatch(/still no endpoint|admin port does not answer|could not apply config/);
      const children = processTree(demo.pid!).filter((pid) => pid !== demo.pid);
      expect(children.length).toBeGreaterThanOrEqual(13);
      demo.kill('SIGKILL');
      await waitFor('every child gone after SIGKILL of the demo', async () => (children.every((pid) => !isAlive(pid)) ? true : null), 20_000)
        .catch(() => undefined);
      expect(children.filter(isAlive), up.output()).toEqual([]);
    } finally {
      if (demo.exitCode === null) demo.kill('SIGKILL');
    }
  }, 180_000);
});
