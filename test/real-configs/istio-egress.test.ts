// Istio's egress TLS origination, through a real `isthmus control` to a real
// sidecar, to HTTPS servers on loopback with certificates made by the test:
// egress-tls-origination.yaml's VirtualService (match port 80 -> port 443) and
// DestinationRule (portLevelSettings tls SIMPLE) as written, and
// egress-mutual-tls-origination.yaml's MUTUAL origination with a client
// certificate, CA, SNI and subjectAltNames (file paths replaced). Their
// ServiceEntries name real hosts with resolution DNS; each host is put on a
// loopback endpoint by a ServiceEntry of the test instead.
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControl, type RunningControl } from '../control/e2e/control-harness.js';
import { outboundPort, request, startSidecar, waitFor, type RunningProxy } from '../e2e/harness.js';
import { TestCa } from '../support/tls-certs.js';
import { loopbackExternal, sampleText, withoutServiceEntries } from './istio-samples.js';

interface SeenTls {
  readonly sni: string | false;
  readonly clientCn: string | undefined;
  readonly path: string;
}

let control: RunningControl;
let sidecar: RunningProxy;
const servers: https.Server[] = [];
const seen: Record<string, SeenTls[]> = {};

async function httpsServer(name: string, cert: { cert: string; key: string }, ca?: string): Promise<number> {
  const server = https.createServer({ cert: cert.cert, key: cert.key, ...(ca !== undefined ? { ca, requestCert: true, rejectUnauthorized: true } : {}) }, (req, res) => {
    const socket = req.socket as TLSSocket;
    (seen[name] ??= []).push({ sni: socket.servername, clientCn: socket.getPeerCertificate()?.subject?.CN, path: req.url ?? '' });
    res.end(`${name} ${req.url}`);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

function get(host: string, path: string) {
  return request(outboundPort(sidecar), path, { headers: { host }, timeoutMs: 5000 });
}

beforeAll(async () => {
  const serverCa = new TestCa('external server CA');
  const clientCa = new TestCa('client CA');
  const cnn = await httpsServer('cnn', serverCa.leaf({ cn: 'edition.cnn.com', dns: ['edition.cnn.com'] }));
  const nginx = await httpsServer('nginx', serverCa.leaf({ cn: 'my-nginx', dns: ['my-nginx.mesh-external.svc.cluster.local'] }), clientCa.cert);
  const client = clientCa.leaf({ cn: 'client.example.com', dns: ['client.example.com'] });
  control = await startControl((dir) => {
    writeFileSync(join(dir, 'egress-tls-origination.yaml'), withoutServiceEntries(sampleText('egress-tls-origination.yaml')));
    writeFileSync(join(dir, 'egress-mutual-tls-origination.yaml'), withoutServiceEntries(sampleText('egress-mutual-tls-origination.yaml'), {
      '/etc/certs/client.example.com.crt': client.certPath,
      '/etc/certs/client.example.com.key': client.keyPath,
      '/etc/certs/example.com.crt': serverCa.certPath,
    }));
    writeFileSync(join(dir, 'external.yaml'),
      loopbackExternal('edition-cnn-com', 'edition.cnn.com', [
        { name: 'http-port', number: 80, protocol: 'HTTP', target: cnn },
        { name: 'https-port-for-tls-origination', number: 443, protocol: 'HTTPS', target: cnn },
      ])
      // Port 80 is HTTP so the app can call http://my-nginx...; its VirtualService (the test's) routes it to 443.
      + loopbackExternal('my-nginx', 'my-nginx.mesh-external.svc.cluster.local', [
        { name: 'http', number: 80, protocol: 'HTTP', target: nginx },
        { name: 'https', number: 443, protocol: 'HTTPS', target: nginx },
      ])
      + `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: my-nginx}
spec:
  hosts: [my-nginx.mesh-external.svc.cluster.local]
  http:
  - match: [{port: 80}]
    route: [{destination: {host: my-nginx.mesh-external.svc.cluster.local, port: {number: 443}}}]
---
`
      // The CNN server again, under a name its certificate does not carry: verification must refuse it.
      + loopbackExternal('impostor', 'impostor.example.com', [{ name: 'http', number: 80, protocol: 'HTTP', target: cnn }])
      + `apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: impostor}
spec:
  host: impostor.example.com
  trafficPolicy:
    tls: {mode: SIMPLE, caCertificates: ${serverCa.certPath}, subjectAltNames: [impostor.example.com]}
`);
  }, undefined, ['--push-debounce-quiet', '20ms']);
  sidecar = await startSidecar(control.xdsPort, { service: 'sleep' });
  await waitFor('the egress routes', async () => (await get('edition.cnn.com', '/politics').catch(() => null))?.status === 200, 30_000);
}, 120_000);

afterAll(async () => {
  await sidecar?.stop('SIGTERM', 5000);
  for (const s of servers) s.close();
  await control?.stop();
  control?.remove();
});

describe('Istio egress TLS origination through a sidecar', { timeout: 60_000 }, () => {
  it('egress-tls-origination.yaml: plain http://edition.cnn.com leaves the sidecar as TLS to port 443, SNI the host', async () => {
    const r = await get('edition.cnn.com', '/politics');
    expect([r.status, r.body]).toEqual([200, 'cnn /politics']);
    expect(seen.cnn!.at(-1)).toEqual({ sni: 'edition.cnn.com', clientCn: undefined, path: '/politics' });
  });

  it('egress-mutual-tls-origination.yaml: MUTUAL presents the client certificate and checks the server against the CA and SAN', async () => {
    const r = await get('my-nginx.mesh-external.svc.cluster.local', '/');
    expect([r.status, r.body]).toEqual([200, 'nginx /']);
    expect(seen.nginx!.at(-1)).toEqual({ sni: 'my-nginx.mesh-external.svc.cluster.local', clientCn: 'client.example.com', path: '/' });
  });

  it('SIMPLE with caCertificates and subjectAltNames refuses a server whose certificate lacks the name (503, nothing reaches it)', async () => {
    const before = seen.cnn!.length;
    const r = await get('impostor.example.com', '/secret');
    expect(r.status).toBe(503);
    expect(seen.cnn!.length).toBe(before);
  });
});
