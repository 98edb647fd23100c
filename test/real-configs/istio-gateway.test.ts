// Istio's ingress samples (test/real-configs/istio/, written as Istio's samples
// write them) through a real `isthmus control` to a real `isthmus proxy --router`
// gateway, with node:http upstreams on loopback: Bookinfo's, httpbin's and
// helloworld's gateways (host "*"), and httpbin behind a SIMPLE TLS server with
// an HTTPS redirect on port 80, with a certificate made by the test.
import https from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControl, type RunningControl } from '../control/e2e/control-harness.js';
import { closedPort, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from '../e2e/harness.js';
import { TestCa } from '../support/tls-certs.js';
import { loopbackService, sampleText, withPorts } from './istio-samples.js';

let control: RunningControl;
let gateway: RunningProxy;
const upstreams: Upstream[] = [];
const port: Record<string, number> = {};
let ca: TestCa;

async function app(name: string): Promise<Upstream> {
  const u = await startUpstream((req, res) => {
    res.setHeader('x-upstream', name);
    res.end(`${name} ${req.url}`);
  });
  upstreams.push(u);
  return u;
}

function get(p: number, path: string, host = 'bookinfo.example.com') {
  return request(p, path, { headers: { host }, timeoutMs: 5000 });
}

function httpsGet(p: number, path: string, servername: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port: p, path, servername, ca: ca.cert, headers: { host: servername }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  ca = new TestCa();
  const leaf = ca.leaf({ cn: 'httpbin.example.com', dns: ['httpbin.example.com'] });
  const [productpage, httpbin, helloworld] = await Promise.all([app('productpage'), app('httpbin'), app('helloworld')]);
  for (const key of ['bookinfo', 'httpbin', 'helloworld', 'secure', 'redirect']) port[key] = await closedPort();
  control = await startControl((dir) => {
    writeFileSync(join(dir, 'bookinfo-gateway.yaml'), withPorts(sampleText('bookinfo-gateway.yaml'), { 'bookinfo-gateway:80': port.bookinfo! }));
    writeFileSync(join(dir, 'httpbin-gateway.yaml'), withPorts(sampleText('httpbin-gateway.yaml'), { 'httpbin-gateway:80': port.httpbin! }));
    writeFileSync(join(dir, 'helloworld-gateway.yaml'), withPorts(sampleText('helloworld-gateway.yaml'), { 'helloworld-gateway:80': port.helloworld! }));
    writeFileSync(join(dir, 'httpbin-secure-gateway.yaml'), withPorts(sampleText('httpbin-secure-gateway.yaml'),
      { 'httpbin-secure-gateway:443': port.secure!, 'httpbin-secure-gateway:80': port.redirect! },
      { '/etc/istio/ingressgateway-certs/tls.crt': leaf.certPath, '/etc/istio/ingressgateway-certs/tls.key': leaf.keyPath }));
    writeFileSync(join(dir, 'services.yaml'), loopbackService('productpage', 9080, productpage.port)
      + loopbackService('httpbin', 8000, httpbin.port) + loopbackService('helloworld', 5000, helloworld.port));
  }, undefined, ['--push-debounce-quiet', '20ms']);
  gateway = await startProxy({
    readyTimeoutMs: 30_000,
    control: `127.0.0.1:${control.xdsPort}`,
    args: ['--router', '--label', 'istio=ingressgateway', '--namespace', 'istio-system', '--drain-timeout', '1s'],
  });
  await waitFor('the gateway listeners', async () => (await get(port.helloworld!, '/hello').catch(() => null))?.status === 200, 30_000);
}, 120_000);

afterAll(async () => {
  await gateway?.stop('SIGTERM', 5000);
  await Promise.all(upstreams.map((u) => u.close()));
  await control?.stop();
  control?.remove();
});

describe('Istio ingress samples through isthmus proxy --router', { timeout: 60_000 }, () => {
  it('bookinfo-gateway.yaml: the five productpage matches route for any host, other paths are 404', async () => {
    for (const path of ['/productpage', '/static/jquery.min.js', '/login', '/logout', '/api/v1/products/0']) {
      const r = await get(port.bookinfo!, path);
      expect([path, r.status, r.body]).toEqual([path, 200, `productpage ${path}`]);
    }
    // Host "*": any Host header, an address included.
    expect((await get(port.bookinfo!, '/productpage', `127.0.0.1:${port.bookinfo}`)).body).toBe('productpage /productpage');
    expect((await get(port.bookinfo!, '/productpage/extra')).status).toBe(404);
    expect((await get(port.bookinfo!, '/reviews')).status).toBe(404);
  });

  it('httpbin-gateway.yaml: every path on its port reaches httpbin', async () => {
    for (const path of ['/status/418', '/headers', '/']) {
      const r = await get(port.httpbin!, path, 'anything.example');
      expect([r.status, r.body]).toEqual([200, `httpbin ${path}`]);
    }
  });

  it('helloworld-gateway.yaml (networking.istio.io/v1): /hello reaches helloworld, nothing else does', async () => {
    expect((await get(port.helloworld!, '/hello')).body).toBe('helloworld /hello');
    expect((await get(port.helloworld!, '/hello/again')).status).toBe(404);
    // Each sample has its own port: bookinfo's paths are not served on helloworld's.
    expect((await get(port.helloworld!, '/productpage')).status).toBe(404);
  });

  it('httpbin-secure-gateway.yaml: SIMPLE TLS with file certificates terminates for the SNI host, port 80 redirects to https', async () => {
    await waitFor('the TLS listener', async () => (await httpsGet(port.secure!, '/status/200', 'httpbin.example.com').catch(() => null))?.status === 200, 30_000);
    const r = await httpsGet(port.secure!, '/status/200', 'httpbin.example.com');
    expect(r).toEqual({ status: 200, body: 'httpbin /status/200' });
    expect((await httpsGet(port.secure!, '/headers', 'httpbin.example.com')).status).toBe(404);
    // Another SNI name matches no server: the handshake is refused.
    await expect(httpsGet(port.secure!, '/status/200', 'other.example.com')).rejects.toThrow();
    const redirect = await get(port.redirect!, '/status/200', 'httpbin.example.com');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('https://httpbin.example.com/status/200');
  });
});
