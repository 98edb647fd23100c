// The demo seen through its dashboard (issue 16): `isthmus up` with its own
// traffic, every sidecar tracing into the control plane (Zipkin v2 JSON to
// /api/v2/spans on its admin port) and the Bookinfo apps copying the trace
// headers; headless Chromium opens the dashboard it prints and sees the
// Bookinfo graph over mTLS, and a trace whose waterfall has spans from at
// least three hops (productpage -> reviews -> ratings). No console error and
// no request beyond 127.0.0.1. DASHBOARD_SCREENSHOT=docs/images/dashboard.png
// saves the 1280x800 picture the README shows.
import { type ChildProcess } from 'node:child_process';
import { type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLoopbackPage, type LoopbackPage } from '../support/loopback-page.js';
import { waitFor } from './harness.js';
import { freeDemoPorts, startUpDemo, type UpDemo } from './up-demo.js';

interface ZipkinSpan { traceId: string; id: string; parentId?: string; kind?: string; localEndpoint?: { serviceName?: string } }

let up: UpDemo;
let demo: ChildProcess;
let admin = 0;
let dash: LoopbackPage;
let page: Page;

beforeAll(async () => {
  const from = await freeDemoPorts();
  admin = from + 1;
  up = startUpDemo(['--ports-from', String(from), '--rate', '5']);
  demo = up.process;
  await waitFor('the dashboard URL', async () => (up.output().includes(`http://127.0.0.1:${admin}/dashboard`) ? true : null), 120_000)
    .catch((err: Error) => { throw new Error(`${err.message}\n${up.output()}`); });
  dash = await openLoopbackPage(`http://127.0.0.1:${admin}/dashboard`);
  page = dash.page;
}, 180_000);

afterAll(async () => {
  await dash?.browser.close();
  if (demo !== undefined && demo.exitCode === null) {
    const exited = new Promise((r) => demo.once('exit', r));
    demo.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    if (demo.exitCode === null) demo.kill('SIGKILL');
  }
}, 60_000);

describe('isthmus up seen on its dashboard', () => {
  it('collects traces from the sidecars: one request crosses productpage, reviews and ratings in one trace', async () => {
    const trace = await waitFor('a trace with spans from productpage, reviews and ratings', async () => {
      const res = await fetch(`http://127.0.0.1:${admin}/api/v2/traces?limit=100`, { signal: AbortSignal.timeout(5000) });
      const traces = (await res.json()) as ZipkinSpan[][];
      return traces.find((t) => {
        const services = new Set(t.map((s) => s.localEndpoint?.serviceName ?? ''));
        return [...services].filter((n) => /productpage|reviews|ratings/.test(n)).length >= 3;
      }) ?? null;
    }, 60_000).catch((err: Error) => { throw new Error(`${err.message}\n${up.output().slice(-3000)}`); });
    // Parent and child ids line up: every span but the root has its parent in the same trace.
    const ids = new Set(trace.map((s) => s.id));
    const roots = trace.filter((s) => s.parentId === undefined || !ids.has(s.parentId));
    expect(roots.length, JSON.stringify(trace)).toBe(1);
    expect(new Set(trace.map((s) => s.traceId)).size).toBe(1);
    expect(trace.filter((s) => s.kind === 'SERVER').length).toBeGreaterThanOrEqual(3); // an inbound span per hop
  }, 90_000);

  it('shows the Bookinfo graph with mTLS edges and a waterfall with spans from three hops', async () => {
    const edges = page.getByRole('table', { name: 'Service graph edges' }).locator('tbody tr');
    const rows = await waitFor('edges productpage -> reviews and reviews -> ratings', async () => {
      const r = await edges.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      const names = r.map((c) => `${c[0]} -> ${c[1]}`);
      return names.some((n) => /^productpage v1 -> reviews v\d$/.test(n)) && names.some((n) => /^reviews v[23] -> ratings v1$/.test(n))
        && names.some((n) => /^productpage v1 -> details v1$/.test(n)) ? r : null;
    }, 60_000);
    // STRICT PeerAuthentication between the workloads: those edges are mTLS.
    await waitFor('the mTLS column on productpage -> details', async () => {
      const r = await edges.evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
      return r.some((c) => c[0] === 'productpage v1' && c[1] === 'details v1' && c[5] === 'mTLS') ? true : null;
    }, 30_000).catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(rows)}`); });

    const button = page.getByRole('button', { name: /· \d+ spans · .*productpage.*ratings.*reviews/ }).first();
    await button.waitFor({ timeout: 30_000 });
    await button.focus();
    await page.keyboard.press('Enter');
    const waterfall = page.getByRole('list', { name: 'Trace waterfall' });
    await waterfall.waitFor({ timeout: 10_000 });
    const labels = await waterfall.getByRole('listitem').evaluateAll((lis) => lis.map((li) => li.getAttribute('aria-label') ?? ''));
    const services = new Set(labels.map((l) => l.split(' ')[0]!.replace(/\..*$/, '')));
    expect([...services].filter((s) => ['productpage', 'reviews', 'ratings'].includes(s)).sort(), labels.join('\n')).toEqual(['productpage', 'ratings', 'reviews']);
    const shot = process.env.DASHBOARD_SCREENSHOT;
    if (shot !== undefined && shot !== '') {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: shot });
    }
    expect(dash.consoleErrors).toEqual([]);
    expect(dash.offLoopback).toEqual([]);
  }, 120_000);
});
