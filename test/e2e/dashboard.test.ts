// The control plane's dashboard end to end (issue 16, item 2): `isthmus
// control` with three sidecars (productpage -> reviews v1/v2, split by a
// VirtualService; auto mTLS between them) and real traffic through them; the page opened in headless
// Chromium (Debian's chromium, driven by playwright-core). The service graph's
// nodes and edges are read from its table, a NACK from a router proxy that
// cannot bind its Gateway's port shows with its message, and spans POSTed to
// the Zipkin API (as a reporter sends them) show as a waterfall. No console
// error, and no request leaves 127.0.0.1.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openLoopbackPage, type LoopbackPage } from '../support/loopback-page.js';
import { startControl, startMeshSidecar, type RunningControl } from '../control/e2e/control-harness.js';
import {
  keepAliveAgent, outboundPort, replyName, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream,
} from './harness.js';

const DESTINATION_RULE = `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
`;
const SPLIT = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 50}
    - {destination: {host: reviews, subset: v2}, weight: 50}
`;

let control: RunningControl;
const proxies: RunningProxy[] = [];
const upstreams: Upstream[] = [];
let dash: LoopbackPage;
let page: Page;
let client: RunningProxy;
let held: Server;
let traffic = true;
let trafficDone: Promise<void> = Promise.resolve();

/** Steady requests through productpage's sidecar until stopped (bounded: at most 5 minutes of 10 req/s). */
async function sendTraffic(): Promise<void> {
  for (let i = 0; i < 3000 && traffic; i++) {
    await request(outboundPort(client), '/reviews', { headers: { host: 'reviews:9080' }, agent: keepAliveAgent, timeoutMs: 5000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  control = await startControl((dir) => {
    writeFileSync(join(dir, 'reviews-destination-rule.yaml'), DESTINATION_RULE);
    writeFileSync(join(dir, 'reviews-virtual-service.yaml'), SPLIT);
  }, undefined, ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms', '--dashboard-interval', '1s']);
  const [v1, v2] = await Promise.all([startUpstream(replyName('v1')), startUpstream(replyName('v2'))]);
  upstreams.push(v1, v2);
  // Every sidecar has a workload identity: auto mTLS between them.
  proxies.push(...await Promise.all([
    startMeshSidecar(control, { service: 'reviews', version: 'v1', appPort: v1.port }),
    startMeshSidecar(control, { service: 'reviews', version: 'v2', appPort: v2.port }),
  ]));
  client = await startMeshSidecar(control, { service: 'productpage', version: 'v1' });
  proxies.push(client);
  await waitFor('productpage reaches both reviews versions', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await request(outboundPort(client), '/reviews', { headers: { host: 'reviews:9080' } })).body);
    return seen.has('v1') && seen.has('v2');
  }, 20_000);
  trafficDone = sendTraffic();
  dash = await openLoopbackPage(`http://127.0.0.1:${control.adminPort}/dashboard`);
  page = dash.page;
}, 90_000);

afterAll(async () => {
  traffic = false;
  await trafficDone;
  await dash?.browser.close();
  await Promise.all(proxies.map((p) => p.stop('SIGTERM', 5000)));
  await Promise.all(upstreams.map((u) => u.close()));
  held?.close();
  await control?.stop();
  control?.remove();
});

/** The edges table as "from -> to" rows with their cells. */
async function edgeRows(): Promise<Map<string, string[]>> {
  const rows = await page.getByRole('table', { name: 'Service graph edges' }).locator('tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  return new Map(rows.filter((r) => r.length === 6).map((r) => [`${r[0]} -> ${r[1]}`, r]));
}

describe('the dashboard on the control plane admin port', () => {
  it('shows the service graph with its nodes and edges, with live request rates', async () => {
    const rows = await waitFor('edges productpage -> reviews v1 and v2 with traffic', async () => {
      const r = await edgeRows();
      const v1 = r.get('productpage v1 -> reviews v1');
      const v2 = r.get('productpage v1 -> reviews v2');
      return v1 !== undefined && v2 !== undefined && Number(v1[2]) > 0 && Number(v2[2]) > 0 ? r : undefined;
    }, 30_000);
    expect([...rows.keys()].sort()).toEqual(['productpage v1 -> reviews v1', 'productpage v1 -> reviews v2']);
    for (const r of rows.values()) {
      expect(r[3]).toBe('0.0%'); // no errors
      expect(r[4]).toMatch(/ms$/); // a p99
    }
    // The traffic arrives over mutual TLS (the callee's sidecar says so).
    let last: unknown = null;
    await waitFor('the mTLS column', async () => {
      const r = await edgeRows();
      last = [...r];
      return r.get('productpage v1 -> reviews v1')?.[5] === 'mTLS' && r.get('productpage v1 -> reviews v2')?.[5] === 'mTLS';
    }, 15_000).catch(async (err: Error) => {
      const state = await (await fetch(`http://127.0.0.1:${control.adminPort}/dashboard/api/state`)).text();
      throw new Error(`${err.message}: ${JSON.stringify(last)}\n${state.slice(0, 3000)}`);
    });
    // The drawing names every node; the sidecars' golden signals are there per service.
    const graph = page.getByRole('img', { name: /^Service graph: 3 services and versions, 2 edges/ });
    await expect.poll(() => graph.count(), { timeout: 10_000 }).toBe(1);
    const nodes = await graph.locator('g.graph-node title').allTextContents();
    expect(nodes.map((n) => n.split(',')[0]).sort()).toEqual(['productpage v1', 'reviews v1', 'reviews v2']);
    const reviewsCard = page.getByRole('listitem', { name: /^reviews \(v1, v2\)/ });
    await expect.poll(async () => (await reviewsCard.textContent()) ?? '', { timeout: 10_000 }).toMatch(/Rate\d+\.\d+ req\/s/);
    expect(await reviewsCard.getByRole('img', { name: /^Requests\/s: now/ }).count()).toBe(1);
    // Every proxy is SYNCED, and the config shows its resources as accepted.
    const proxyRows = page.getByRole('table', { name: 'xDS sync status per proxy' }).locator('tbody tr');
    await expect.poll(() => proxyRows.count()).toBe(3);
    expect(await proxyRows.allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/^productpage-\w+\.defaultproductpagev1SYNCED/)]));
    const configText = await page.getByRole('table', { name: 'Config resources and their validation status' }).textContent();
    expect(configText).toMatch(/VirtualServicedefault\/reviewsreviews-virtual-service\.yaml:1/);
  }, 60_000);

  it('shows a NACKed proxy with the message after a config it rejects', async () => {
    held = createServer();
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
    const port = (held.address() as { port: number }).port;
    const router = await startProxy({ control: `127.0.0.1:${control.xdsPort}`, args: ['--router', '--label', 'istio=ingressgateway', '--outbound-port', '0'] });
    proxies.push(router);
    // The control plane accepts the Gateway; the router cannot bind its port and NACKs.
    writeFileSync(join(control.configDir, 'gateway.yaml'), `apiVersion: networking.istio.io/v1beta1
kind: Gateway
metadata: {name: ingress}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: ${port}, name: http, protocol: HTTP}
    hosts: ["*"]
`);
    const row = page.getByRole('table', { name: 'xDS sync status per proxy' }).getByRole('row').filter({ hasText: 'istio-ingressgateway' });
    await expect.poll(async () => (await row.textContent()) ?? '', { timeout: 20_000 }).toContain('NACK');
    const message = await row.locator('td.msg').textContent();
    expect(message).toMatch(new RegExp(`cannot reserve 127\\.0\\.0\\.1:${port}: bind EADDRINUSE`));
    expect(await page.locator('#status').textContent()).toMatch(/1 NACK/);
  }, 40_000);

  it('shows a trace waterfall after spans of three services are POSTed to /api/v2/spans', async () => {
    const traceId = '5af7183fb1d4cf5f2b6e4c8d9a0b1c2d';
    const t0 = Date.now() * 1000;
    const span = (id: string, parentId: string | undefined, service: string, kind: string, name: string, start: number, duration: number) => ({
      traceId, id, ...(parentId === undefined ? {} : { parentId }), kind, name, timestamp: t0 + start, duration,
      localEndpoint: { serviceName: service, ipv4: '127.0.0.1' }, tags: { 'http.method': 'GET', 'http.status_code': '200', component: 'proxy' },
    });
    // As Envoy's zipkin tracer reports them: each proxy a SERVER span and, for its call onward, a CLIENT span.
    const spans = [
      span('0000000000000001', undefined, 'productpage', 'SERVER', 'productpage:9080/*', 0, 40_000),
      span('0000000000000002', '0000000000000001', 'productpage', 'CLIENT', 'reviews:9080/*', 2_000, 30_000),
      span('0000000000000003', '0000000000000002', 'reviews', 'SERVER', 'reviews:9080/*', 3_000, 28_000),
      span('0000000000000004', '0000000000000003', 'reviews', 'CLIENT', 'ratings:9080/*', 5_000, 10_000),
      span('0000000000000005', '0000000000000004', 'ratings', 'SERVER', 'ratings:9080/*', 6_000, 8_000),
    ];
    const res = await fetch(`http://127.0.0.1:${control.adminPort}/api/v2/spans`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spans),
    });
    expect(res.status).toBe(202);
    const button = page.getByRole('button', { name: /^productpage: productpage:9080\/\* · 5 spans · productpage, ratings, reviews/ });
    await button.waitFor({ timeout: 10_000 });
    await button.focus();
    await page.keyboard.press('Enter'); // keyboard-usable
    const waterfall = page.getByRole('list', { name: 'Trace waterfall' });
    await waterfall.waitFor({ timeout: 10_000 });
    const rows = await waterfall.getByRole('listitem').evaluateAll((lis) => lis.map((li) => li.getAttribute('aria-label') ?? ''));
    expect(rows).toEqual([
      expect.stringMatching(/^productpage server productpage:9080\/\*: starts at 0\.00 ms, takes 40\.00 ms$/),
      expect.stringMatching(/^productpage client reviews:9080\/\*: starts at 2\.00 ms/),
      expect.stringMatching(/^reviews server reviews:9080\/\*: starts at 3\.00 ms/),
      expect.stringMatching(/^reviews client ratings:9080\/\*: starts at 5\.00 ms/),
      expect.stringMatching(/^ratings server ratings:9080\/\*: starts at 6\.00 ms, takes 8\.00 ms$/),
    ]);
    expect(await page.getByRole('heading', { name: `Trace ${traceId}: 5 spans, 40.00 ms` }).count()).toBe(1);
    // DASHBOARD_SCREENSHOT=docs/images/dashboard.png npx vitest run test/e2e/dashboard.test.ts: the picture at 1280x800
    // (bench/dashboard-screenshot.ts takes it from a running `isthmus up` instead).
    const shot = process.env.DASHBOARD_SCREENSHOT;
    if (shot !== undefined && shot !== '') {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: shot });
    }
  }, 30_000);

  it('works at phone width, logs no console error and asks nothing beyond 127.0.0.1', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(2500); // a poll at this width
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && (e.parentElement?.closest('.scroll') ?? null) === null)
      .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`));
    expect(wide).toEqual([]);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.getByRole('table', { name: 'Service graph edges' }).isVisible()).toBe(true);
    expect(dash.consoleErrors).toEqual([]);
    expect(dash.offLoopback).toEqual([]);
  }, 20_000);
});
