// Only the trust bundle replaced (validation_context.trusted_ca's file): new
// handshakes are checked against the new bundle, while a mutual-TLS connection
// established under the old one carries on serving requests.
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceFile, startProxy, startUpstream, tempDir, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { chainsListener, downstreamTls, staticCluster } from '../support/tls-bootstrap.js';
import { TestCa, type Pem } from '../support/tls-certs.js';

/** Both byte transports: the addon's (TLS in C++) and Node's net. */
const TRANSPORTS = [{ transport: 'native' }, { transport: 'node' }] as const;

describe.each(TRANSPORTS)('--transport $transport', ({ transport }) => {
  const dir = tempDir('tls-trust-reload');
  const trustPath = join(dir.path, 'trust.pem');
  let serverCa: TestCa;
  let oldClientCa: TestCa;
  let newClientCa: TestCa;
  let oldClient: Pem;
  let newClient: Pem;
  let upstream: Upstream;
  let proxy: RunningProxy;

  beforeAll(async () => {
    serverCa = new TestCa('Server CA');
    oldClientCa = new TestCa('Old client CA');
    newClientCa = new TestCa('New client CA');
    const server = serverCa.leaf({ cn: 'server', dns: ['localhost'] });
    oldClient = oldClientCa.leaf({ cn: 'old-client', uri: ['spiffe://test/ns/a/sa/old'] });
    newClient = newClientCa.leaf({ cn: 'new-client', uri: ['spiffe://test/ns/a/sa/new'] });
    copyFileSync(oldClientCa.certPath, trustPath);
    upstream = await startUpstream((req, res) => res.end(`ok ${req.url}`));
    const routes = { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }] };
    const mtls = downstreamTls({
      certificates: [{ certPath: server.certPath, keyPath: server.keyPath }],
      trustedCaPath: trustPath,
      requireClientCertificate: true,
    });
    proxy = await startProxy({
      args: ['--transport', transport],
      bootstrap: {
        static_resources: {
          listeners: [chainsListener('mtls', [{ transportSocket: mtls }], routes, false)],
          clusters: [staticCluster('backend', upstream.port)],
        },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
    dir.remove();
  });

  function connect(client: Pem): tls.TLSSocket {
    const port = proxy.ports.get('mtls')!;
    return tls.connect({ host: '127.0.0.1', port, ca: serverCa.cert, servername: 'localhost', cert: client.cert, key: client.key });
  }

  /** One request on a new connection; its status, or 0 when the handshake or the connection failed. */
  function oneRequest(client: Pem, path: string): Promise<number> {
    return new Promise((resolve) => {
      const sock = connect(client);
      const chunks: Buffer[] = [];
      sock.on('secureConnect', () => sock.write(`GET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`));
      sock.on('data', (c: Buffer) => chunks.push(c));
      sock.on('error', () => resolve(0));
      sock.on('close', () => {
        const all = Buffer.concat(chunks).toString('latin1');
        resolve(all.startsWith('HTTP/1.1 ') ? Number(all.slice(9, 12)) : 0);
      });
    });
  }

  /** A request on the kept-alive connection; the whole answer's text. */
  function onKept(kept: tls.TLSSocket, path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      let text = '';
      const onData = (d: Buffer): void => {
        text += d.toString('latin1');
        if (text.endsWith(`ok ${path}`)) {
          kept.off('data', onData);
          resolve(text);
        }
      };
      kept.on('data', onData);
      kept.once('error', reject);
      kept.write(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`);
    });
  }

  it('checks new handshakes against a replaced trust bundle; a connection made under the old one keeps working', async () => {
    expect(await oneRequest(oldClient, '/before')).toBe(200);
    expect(await oneRequest(newClient, '/before')).toBe(0);

    const kept = connect(oldClient);
    await new Promise<void>((r, j) => {
      kept.once('secureConnect', r);
      kept.once('error', j);
    });
    expect(await onKept(kept, '/kept-1')).toMatch(/^HTTP\/1\.1 200/);

    replaceFile(trustPath, newClientCa.cert);
    await waitFor('the new trust bundle', async () => (await oneRequest(newClient, '/after')) === 200, 15_000);
    expect(await oneRequest(oldClient, '/after')).toBe(0);

    // Established under the old bundle with a certificate the new one would refuse: it carries on.
    expect(await onKept(kept, '/kept-2')).toMatch(/^HTTP\/1\.1 200/);
    expect(await onKept(kept, '/kept-3')).toMatch(/^HTTP\/1\.1 200/);
    kept.destroy();
  }, 60_000);
});
