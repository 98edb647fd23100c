// A certificate file replaced under load: the proxy reloads it like the
// bootstrap, new handshakes get the new certificate, and no request fails
// (open connections keep the context they started with).
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, replaceFile, startProxy, startUpstream, tempDir, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { chainsListener, downstreamTls, staticCluster } from '../support/tls-bootstrap.js';
import { TestCa, type Pem } from '../support/tls-certs.js';
import { readFileSync } from 'node:fs';

const LOAD_CLIENTS = 4;
const LOAD_MAX_REQUESTS = 3000;
const LOAD_MAX_MS = 30_000;

let ca: TestCa;
let first: Pem;
let second: Pem;
let upstream: Upstream;
let proxy: RunningProxy;

/** Every TLS behaviour on both byte transports: the addon's (TLS in C++) and Node's net (TLS driven from JS). */
const TRANSPORTS = [{ transport: 'native' }, { transport: 'node' }] as const;

describe.each(TRANSPORTS)('--transport $transport', ({ transport }) => {
  const dir = tempDir('tls-reload');
  const certPath = join(dir.path, 'server.pem');
  const keyPath = join(dir.path, 'server.key');

  beforeAll(async () => {
    ca = new TestCa();
    first = ca.leaf({ cn: 'first', dns: ['localhost'] });
    second = ca.leaf({ cn: 'second', dns: ['localhost'] });
    copyFileSync(first.certPath, certPath);
    copyFileSync(first.keyPath, keyPath);
    upstream = await startUpstream((_req, res) => res.end('ok'));
    const routes = { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] };
    proxy = await startProxy({
      args: ['--transport', transport],
      bootstrap: {
        static_resources: {
          listeners: [chainsListener('edge', [{ transportSocket: downstreamTls({ certificates: [{ certPath, keyPath }] }) }], routes, false)],
          clusters: [staticCluster('backend', upstream.port)],
        },
      },
      workers: 2,
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
    dir.remove();
  });

  /** A new connection (a full handshake) and one request; returns the certificate's CN and the status. */
  function oneRequest(port: number): Promise<{ cn: string; status: number }> {
    return new Promise((resolve, reject) => {
      const sock = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, servername: 'localhost' });
      let cn = '';
      const chunks: Buffer[] = [];
      sock.on('secureConnect', () => {
        cn = String(sock.getPeerCertificate().subject?.CN ?? '');
        sock.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
      });
      sock.on('data', (c: Buffer) => chunks.push(c));
      sock.on('error', reject);
      sock.on('close', () => resolve({ cn, status: Number(Buffer.concat(chunks).subarray(9, 12).toString()) }));
    });
  }

  describe('certificate reload', () => {
    it('serves the new certificate to new handshakes once the files change, with no request failing', async () => {
      const port = proxy.ports.get('edge')!;
      expect((await oneRequest(port)).cn).toBe('first');
      const seen: { cn: string; status: number; at: number }[] = [];
      let failures = 0;
      let stop = false;
      const deadline = Date.now() + LOAD_MAX_MS;
      const client = async (): Promise<void> => {
        while (!stop && seen.length < LOAD_MAX_REQUESTS && Date.now() < deadline) {
          try {
            seen.push({ ...(await oneRequest(port)), at: Date.now() });
          } catch {
            failures++;
          }
        }
      };
      // A keep-alive connection opened before the change: it must carry on, on the certificate it started with.
      const kept = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, servername: 'localhost' });
      await new Promise<void>((r, j) => { kept.once('secureConnect', r); kept.once('error', j); });
      const keptAnswer = (): Promise<string> => new Promise((resolve) => {
        kept.once('data', (d: Buffer) => resolve(d.toString('latin1')));
        kept.write('GET /kept HTTP/1.1\r\nhost: x\r\n\r\n');
      });
      expect(await keptAnswer()).toMatch(/^HTTP\/1\.1 200/);
      const load = Promise.all(Array.from({ length: LOAD_CLIENTS }, client));
      await new Promise((r) => setTimeout(r, 300));
      // The key first, then the certificate: between the two the pair does not match, and that reload is refused.
      replaceFile(keyPath, readFileSync(second.keyPath, 'utf8'));
      replaceFile(certPath, readFileSync(second.certPath, 'utf8'));
      const switched = await waitFor('the new certificate', () => seen.find((s) => s.cn === 'second'), 15_000);
      await new Promise((r) => setTimeout(r, 500));
      stop = true;
      await load;
      expect(await keptAnswer()).toMatch(/^HTTP\/1\.1 200/);
      expect(kept.getPeerCertificate().subject.CN).toBe('first');
      kept.destroy();
      expect(failures).toBe(0);
      expect(seen.every((s) => s.status === 200)).toBe(true);
      // Every handshake that started well after the switch got the new certificate.
      expect(seen.filter((s) => s.at > switched.at + 200).every((s) => s.cn === 'second')).toBe(true);
      const certs = JSON.parse((await admin(proxy, '/certs')).body) as { certificates: { cert_chain: { path: string }[] }[] };
      expect(certs.certificates[0]!.cert_chain[0]!.path).toBe(certPath);
    }, 60_000);
  });
});
