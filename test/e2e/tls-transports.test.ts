// TLS on every byte transport and thread model: termination (with the
// tls_inspector taking plaintext on the same port), origination, large
// bodies both ways, and session tickets that outlive a certificate reload,
// on `--transport native` and with the data plane on the main thread
// (`--workers 1`), where the agent's ticket key must reach it too.
import { copyFileSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as https from 'node:https';
import * as net from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceFile, request, startProxy, startUpstream, tempDir, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { chainsListener, downstreamTls, staticCluster, upstreamTls } from '../support/tls-bootstrap.js';
import { TestCa, type Pem } from '../support/tls-certs.js';

const MB = 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly body: Buffer;
  readonly cn: string;
  readonly session: Buffer | null;
  readonly reused: boolean;
}

function tlsRequest(ca: string, port: number, path: string, o: { body?: Buffer; session?: Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...(o.session ? { session: o.session } : {}) });
    let session: Buffer | null = null;
    sock.on('session', (s: Buffer) => { session = s; });
    const chunks: Buffer[] = [];
    let cn = '';
    let reused = false;
    sock.on('secureConnect', () => {
      cn = String(sock.getPeerCertificate()?.subject?.CN ?? '');
      reused = sock.isSessionReused();
      const body = o.body ?? Buffer.alloc(0);
      sock.write(`${body.length > 0 ? 'POST' : 'GET'} ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-length: ${body.length}\r\n\r\n`);
      if (body.length > 0) sock.write(body);
    });
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const all = Buffer.concat(chunks);
      const headEnd = all.indexOf('\r\n\r\n');
      if (headEnd < 0) {
        reject(new Error(`no response (${all.length} bytes)`));
        return;
      }
      resolve({ status: Number(all.subarray(9, 12).toString()), body: all.subarray(headEnd + 4), cn, session, reused });
    });
  });
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

const MODES = [
  { workers: 1, transport: 'node' },
  { workers: 1, transport: 'native' },
  { workers: 2, transport: 'native' },
] as const;

describe.each(MODES)('TLS with --workers $workers --transport $transport', ({ workers, transport }) => {
  const dir = tempDir('tls-transports');
  const certPath = join(dir.path, 'server.pem');
  const keyPath = join(dir.path, 'server.key');
  let ca: TestCa;
  let second: Pem;
  let upstream: Upstream;
  let tlsUpstream: https.Server;
  /** Accepts and never answers: a TLS handshake to it never completes. */
  let mute: net.Server;
  let proxy: RunningProxy;

  beforeAll(async () => {
    ca = new TestCa();
    const first = ca.leaf({ cn: 'first', dns: ['localhost'] });
    second = ca.leaf({ cn: 'second', dns: ['localhost'] });
    const backendCert = ca.leaf({ cn: 'backend', dns: ['backend.test'], uri: ['spiffe://cluster.local/ns/prod/sa/backend'] });
    copyFileSync(first.certPath, certPath);
    copyFileSync(first.keyPath, keyPath);
    upstream = await startUpstream((req, res, body) => {
      if (req.url?.startsWith('/big/')) res.end(Buffer.alloc(Number(req.url.slice(5)), 'z'));
      else if (req.url === '/echo') res.end(Buffer.from(body, 'latin1'));
      else res.end(`plain ${req.url}`);
    });
    tlsUpstream = https.createServer({ cert: backendCert.cert, key: backendCert.key }, (req, res) => res.end(`tls-backend ${req.url}`));
    await new Promise<void>((r) => tlsUpstream.listen(0, '127.0.0.1', r));
    const tlsUpstreamPort = (tlsUpstream.address() as net.AddressInfo).port;
    mute = net.createServer(() => undefined);
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
    const mutePort = (mute.address() as net.AddressInfo).port;
    const routes = { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend', timeout: '60s' } }] }] };
    proxy = await startProxy({
      bootstrap: {
        static_resources: {
          listeners: [
            chainsListener('edge', [
              { match: { transport_protocol: 'tls' }, transportSocket: downstreamTls({ certificates: [{ certPath, keyPath }] }) },
              { match: { transport_protocol: 'raw_buffer' } },
            ], routes, true),
            chainsListener('orig', [{}], {
              virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
                { match: { prefix: '/mute' }, route: { cluster: 'tls_mute', timeout: '30s' } },
                { match: { prefix: '/' }, route: { cluster: 'tls_good' } },
              ] }],
            }, false),
          ],
          clusters: [
            staticCluster('backend', upstream.port),
            { ...staticCluster('tls_mute', mutePort, upstreamTls(ca.certPath, 'backend.test')), connect_timeout: '0.5s' },
            staticCluster('tls_good', tlsUpstreamPort, upstreamTls(ca.certPath, 'backend.test', { type: 'URI', exact: 'spiffe://cluster.local/ns/prod/sa/backend' })),
          ],
        },
      },
      workers,
      args: ['--transport', transport],
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
    tlsUpstream?.close();
    mute?.close();
    dir.remove();
  });

  it('terminates TLS with bodies of megabytes both ways, and takes plaintext on the same port', async () => {
    const port = proxy.ports.get('edge')!;
    const up = Buffer.alloc(3 * MB);
    for (let i = 0; i < up.length; i += 4) up.writeUInt32LE((Math.imul(i, 2654435761) + 7) >>> 0, i);
    const echoed = await tlsRequest(ca.cert, port, '/echo', { body: up });
    expect(echoed.status).toBe(200);
    expect(sha(echoed.body)).toBe(sha(up));
    const down = await tlsRequest(ca.cert, port, `/big/${5 * MB}`);
    expect(down.status).toBe(200);
    expect(down.body.length).toBe(5 * MB);
    const plain = await request(port, '/plain');
    expect(plain.status).toBe(200);
    expect(plain.body).toBe('plain /plain');
  }, 60_000);

  it('originates TLS to an upstream, checking its SAN', async () => {
    const answer = await request(proxy.ports.get('orig')!, '/good');
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('tls-backend /good');
  });

  it('counts the TLS handshake in connect_timeout: an upstream that never answers it fails fast', async () => {
    const started = Date.now();
    const answer = await request(proxy.ports.get('orig')!, '/mute');
    // A connect failure (503), not the 30 s route timeout (504).
    expect(answer.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 60_000);

  it('resumes a session ticket issued before a certificate reload', async () => {
    const port = proxy.ports.get('edge')!;
    const before = await tlsRequest(ca.cert, port, '/first');
    expect(before.cn).toBe('first');
    expect(before.session).not.toBeNull();
    replaceFile(keyPath, readFileSync(second.keyPath, 'utf8'));
    replaceFile(certPath, readFileSync(second.certPath, 'utf8'));
    await waitFor('the new certificate', async () => ((await tlsRequest(ca.cert, port, '/probe')).cn === 'second' ? true : undefined), 15_000);
    // The new context uses the agent's ticket key (every thread model gets it), so the old ticket still resumes.
    const resumed = await tlsRequest(ca.cert, port, '/again', { session: before.session! });
    expect(resumed.status).toBe(200);
    expect(resumed.reused).toBe(true);
  }, 60_000);
});
