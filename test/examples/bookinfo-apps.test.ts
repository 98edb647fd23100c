// The demo's apps copy Bookinfo's trace headers from each request onto the
// calls it makes (so a trace joins across hops) and nothing else: real app
// processes, their "sidecar" a recording server on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const APPS = join(import.meta.dirname, '..', '..', 'examples', 'bookinfo-apps');
const TRACE = {
  'x-request-id': 'req-1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=1',
  'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7', 'x-b3-spanid': 'e457b5a2e4d86bd1', 'x-b3-parentspanid': '05e3ac9a4f6e3b90',
  'x-b3-sampled': '1', 'x-b3-flags': '1', b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1', 'end-user': 'jason', 'user-agent': 'test-agent',
};

let children: ChildProcess[] = [];
let servers: Server[] = [];
afterEach(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const s of servers) s.close();
  children = [];
  servers = [];
});

/** A stand-in for the app's sidecar outbound listener: records each call's Host and headers, answers JSON. */
async function fakeSidecar(): Promise<{ port: number; calls: { host: string; url: string; headers: IncomingHttpHeaders }[] }> {
  const calls: { host: string; url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    calls.push({ host: req.headers.host ?? '', url: req.url ?? '', headers: req.headers });
    const body = req.url?.startsWith('/ratings') ? { ratings: { Reviewer1: 5, Reviewer2: 4 } }
      : req.url?.startsWith('/reviews') ? { podname: 'reviews-v2', reviews: [{ reviewer: 'Reviewer1', text: 'ok', rating: { stars: 5, color: 'black' } }] }
        : { author: 'William Shakespeare' };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as AddressInfo).port, calls };
}

async function startApp(script: string, env: Record<string, string>): Promise<number> {
  const child = spawn(process.execPath, [join(APPS, script)], { env: { ...process.env, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      const m = /ready on 127\.0\.0\.1:(\d+)/.exec(c.toString());
      if (m !== null) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited ${code}`)));
  });
}

describe('the Bookinfo demo apps', () => {
  it('productpage and reviews forward every trace header (and end-user, user-agent) to the services they call, and no other header', async () => {
    const sidecar = await fakeSidecar();
    const productpage = await startApp('productpage.mjs', { OUTBOUND_PORT: String(sidecar.port) });
    const res = await fetch(`http://127.0.0.1:${productpage}/productpage`, { headers: { ...TRACE, cookie: 'secret=1', 'x-other': 'no' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('5 of 5 stars, black');
    expect(sidecar.calls.map((c) => c.host).sort()).toEqual(['details:9080', 'reviews:9080']);
    for (const call of sidecar.calls) {
      expect(call.headers).toMatchObject(TRACE);
      expect(call.headers.cookie).toBeUndefined();
      expect(call.headers['x-other']).toBeUndefined();
    }

    const reviews = await startApp('reviews.mjs', { VERSION: 'v3', OUTBOUND_PORT: String(sidecar.port) });
    const r = await fetch(`http://127.0.0.1:${reviews}/reviews/0`, { headers: TRACE });
    expect((await r.json()).reviews[0].rating).toEqual({ stars: 5, color: 'red' });
    const ratingsCall = sidecar.calls.find((c) => c.host === 'ratings:9080');
    expect(ratingsCall?.url).toBe('/ratings/0');
    expect(ratingsCall?.headers).toMatchObject(TRACE);
  }, 30_000);
});

/** A stand-in sidecar that answers /details with `answer` and everything else as fakeSidecar does. */
async function sidecarWithDetails(answer: (res: import('node:http').ServerResponse) => void): Promise<number> {
  const server = createServer((req, res) => {
    if (req.url?.startsWith('/details')) return answer(res);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ podname: 'reviews-v1', reviews: [] }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

describe('the Bookinfo demo apps facing a hostile service', () => {
  it('productpage gives up on a service that trickles its answer a byte at a time (a deadline for the whole call, not an idle timeout)', async () => {
    const trickles: NodeJS.Timeout[] = [];
    const sidecar = await sidecarWithDetails((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      trickles.push(setInterval(() => res.write(' '), 500));
    });
    try {
      const productpage = await startApp('productpage.mjs', { OUTBOUND_PORT: String(sidecar) });
      const started = Date.now();
      const res = await fetch(`http://127.0.0.1:${productpage}/productpage`, { signal: AbortSignal.timeout(15_000) });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('product details are currently unavailable');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      for (const t of trickles) clearInterval(t);
    }
  }, 30_000);

  it('productpage stops reading a service that answers without end, past its body limit', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const sidecar = await sidecarWithDetails((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      res.once('close', () => res.removeAllListeners('drain'));
      pump();
    });
    const productpage = await startApp('productpage.mjs', { OUTBOUND_PORT: String(sidecar) });
    const res = await fetch(`http://127.0.0.1:${productpage}/productpage`, { signal: AbortSignal.timeout(15_000) });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('product details are currently unavailable');
  }, 30_000);

  it('productpage draws at most five stars whatever count reviews sends', async () => {
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.url?.startsWith('/reviews')
        ? { podname: 'reviews-v2', reviews: [{ reviewer: 'Reviewer1', text: 'ok', rating: { stars: 1e9, color: 'black' } }, { reviewer: 'Reviewer2', text: 'ok', rating: { stars: -3, color: 'black' } }] }
        : { author: 'William Shakespeare' }));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const productpage = await startApp('productpage.mjs', { OUTBOUND_PORT: String((server.address() as AddressInfo).port) });
    const res = await fetch(`http://127.0.0.1:${productpage}/productpage`, { signal: AbortSignal.timeout(15_000) });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('5 of 5 stars, black');
    expect(text).toContain('0 of 5 stars, black');
    expect(text.length).toBeLessThan(16 * 1024);
  }, 30_000);
});
