// Istio's non-HTTP gateway samples (test/real-configs/istio/) through a real
// `isthmus control` to a real `isthmus proxy --router`: tcp-echo's TCP server
// (all to v1, then the 80/20 shift of tcp-echo-20-v2.yaml) and the nginx
// "Ingress Gateway without TLS Termination" PASSTHROUGH server, which relays
// the encrypted connection by SNI to an HTTPS server that terminates it.
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControl, type RunningControl } from '../control/e2e/control-harness.js';
import { closedPort, startProxy, waitFor, type RunningProxy } from '../e2e/harness.js';
import { TestCa } from '../support/tls-certs.js';
import { loopbackExternal, loopbackService, sampleText, withMatchPorts, withoutServiceEntries, withPorts } from './istio-samples.js';

let control: RunningControl;
let gateway: RunningProxy;
let egressGateway: RunningProxy;
let egressPort = 0;
const closers: (() => void)[] = [];
let ca: TestCa;
let tcpPort = 0;
let tlsPort = 0;

async function echoServer(version: string): Promise<number> {
  const server = net.createServer((socket) => socket.on('data', (d) => socket.write(`${version} ${d.toString()}`)));
  closers.push(() => server.close());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

/** One connection to the gateway's TCP port: sends `text`, returns the first answer (or the error). */
function echo(text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(tcpPort, '127.0.0.1', () => socket.write(text));
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), 3000);
    socket.once('data', (d) => {
      clearTimeout(timer);
      socket.end();
      resolve(d.toString());
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      resolve(`error ${e.message}`);
    });
    socket.once('close', () => resolve('closed'));
  });
}

function tlsGet(servername: string, port = tlsPort): Promise<{ status: number; body: string; peerCn: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/', servername, ca: ca.cert, headers: { host: servername }, agent: false }, (res) => {
      const peerCn = (res.socket as tls.TLSSocket).getPeerCertificate().subject?.CN;
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body, peerCn }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  ca = new TestCa();
  const leaf = ca.leaf({ cn: 'my-nginx', dns: ['nginx.example.com'] });
  const nginx = https.createServer({ cert: leaf.cert, key: leaf.key }, (req, res) => res.end(`nginx saw ${req.headers.host}`));
  closers.push(() => nginx.close());
  await new Promise<void>((resolve) => nginx.listen(0, '127.0.0.1', resolve));
  const cnnLeaf = ca.leaf({ cn: 'cnn', dns: ['edition.cnn.com'] });
  const cnn = https.createServer({ cert: cnnLeaf.cert, key: cnnLeaf.key }, (req, res) => res.end(`cnn saw ${req.headers.host}`));
  closers.push(() => cnn.close());
  await new Promise<void>((resolve) => cnn.listen(0, '127.0.0.1', resolve));
  const [v1, v2] = await Promise.all([echoServer('v1'), echoServer('v2')]);
  tcpPort = await closedPort();
  tlsPort = await closedPort();
  egressPort = await closedPort();
  control = await startControl((dir) => {
    writeFileSync(join(dir, 'tcp-echo.yaml'), withMatchPorts(withPorts(sampleText('tcp-echo-all-v1.yaml'), { 'tcp-echo-gateway:31400': tcpPort }), { 31400: tcpPort }));
    writeFileSync(join(dir, 'nginx.yaml'), withMatchPorts(withPorts(sampleText('ingress-sni-passthrough.yaml'), { 'mygateway:443': tlsPort }), { 443: tlsPort }));
    writeFileSync(join(dir, 'services.yaml'),
      loopbackService('tcp-echo', 9000, [{ port: v1, labels: { version: 'v1' } }, { port: v2, labels: { version: 'v2' } }], 'TCP')
      + loopbackService('my-nginx', 443, [{ port: (nginx.address() as net.AddressInfo).port, labels: {} }], 'HTTPS')
      + loopbackExternal('cnn', 'edition.cnn.com', [{ name: 'tls', number: 443, protocol: 'TLS', target: (cnn.address() as net.AddressInfo).port }]));
    writeFileSync(join(dir, 'egress.yaml'), withMatchPorts(withPorts(withoutServiceEntries(sampleText('egress-gateway/egress-gateway-tls-passthrough.yaml')),
      { 'istio-egressgateway:443': egressPort }), { 443: egressPort }));
  }, undefined, ['--push-debounce-quiet', '20ms']);
  gateway = await startProxy({
    readyTimeoutMs: 30_000,
    control: `127.0.0.1:${control.xdsPort}`,
    args: ['--router', '--label', 'istio=ingressgateway', '--drain-timeout', '1s'],
  });
  egressGateway = await startProxy({
    readyTimeoutMs: 30_000,
    control: `127.0.0.1:${control.xdsPort}`,
    args: ['--router', '--service', 'istio-egressgateway', '--namespace', 'istio-system', '--label', 'istio=egressgateway', '--drain-timeout', '1s'],
  });
  await waitFor('the TCP listener', async () => (await echo('ping')).startsWith('v1 '), 30_000);
}, 120_000);

afterAll(async () => {
  await gateway?.stop('SIGTERM', 5000);
  await egressGateway?.stop('SIGTERM', 5000);
  for (const close of closers) close();
  await control?.stop();
  control?.remove();
});

describe('Istio TCP and TLS-passthrough gateway samples through isthmus proxy --router', { timeout: 60_000 }, () => {
  it('tcp-echo-all-v1.yaml: every connection to the TCP server reaches subset v1', async () => {
    for (let i = 0; i < 10; i++) expect(await echo(`hello ${i}`)).toBe(`v1 hello ${i}`);
  });

  it('ingress-sni-passthrough.yaml: TLS for nginx.example.com is relayed unopened; nginx terminates it', async () => {
    const r = await tlsGet('nginx.example.com');
    // The client verified nginx's own certificate: the gateway never terminated TLS.
    expect(r).toEqual({ status: 200, body: 'nginx saw nginx.example.com', peerCn: 'my-nginx' });
    // An SNI name no rule claims has no filter chain: the connection is closed.
    await expect(tlsGet('other.example.com')).rejects.toThrow();
  });

  it('egress-gateway-tls-passthrough.yaml: the egress gateway relays TLS for edition.cnn.com by SNI; the ingress gateway has no such port', async () => {
    await waitFor('the egress listener', async () => (await tlsGet('edition.cnn.com', egressPort).catch(() => null))?.status === 200, 30_000);
    expect(await tlsGet('edition.cnn.com', egressPort)).toEqual({ status: 200, body: 'cnn saw edition.cnn.com', peerCn: 'cnn' });
    // The ingress gateway's selector does not match the egress Gateway: its own listeners are only the ingress ones.
    const listeners = await fetch(`http://127.0.0.1:${gateway.adminPort}/listeners`).then((r) => r.text());
    expect(listeners).toContain(`:${tcpPort}`);
    expect(listeners).not.toContain(`:${egressPort}`);
  });

  it('tcp-echo-20-v2.yaml: applied over all-v1, connections split about 80/20 between v1 and v2', async () => {
    const file = join(control.configDir, 'tcp-echo-vs.yaml');
    writeFileSync(`${file}.tmp`, withMatchPorts(sampleText('steps/tcp-echo-20-v2.yaml'), { 31400: tcpPort }));
    // The new VirtualService replaces the old one of the same name: take the old file's VirtualService out.
    const allV1 = join(control.configDir, 'tcp-echo.yaml');
    writeFileSync(`${allV1}.tmp`, withPorts(sampleText('tcp-echo-all-v1.yaml').split(/^---$/m).slice(0, 2).join('---'), { 'tcp-echo-gateway:31400': tcpPort }));
    renameSync(`${allV1}.tmp`, allV1);
    renameSync(`${file}.tmp`, file);
    await waitFor('a connection to v2', async () => (await echo('x')).startsWith('v2 '), 30_000);
    const counts = { v1: 0, v2: 0, other: 0 };
    for (let i = 0; i < 100; i++) {
      const answer = await echo('n');
      if (answer === 'v1 n') counts.v1++;
      else if (answer === 'v2 n') counts.v2++;
      else counts.other++;
    }
    expect(counts.other).toBe(0);
    // 20% of 100: far outside [5, 40] only with probability well under 1e-4.
    expect(counts.v2).toBeGreaterThanOrEqual(5);
    expect(counts.v2).toBeLessThanOrEqual(40);
  });
});
