// The tls_inspector waits for a ClientHello only as long as the listener's
// listener_filters_timeout (Envoy's default 15 s): a client that starts a TLS
// record and then trickles nothing more cannot hold the connection, while a
// client whose first bytes come one at a time is still served.
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, metricSum, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { chainsListener, staticCluster } from '../support/tls-bootstrap.js';

let upstream: Upstream;
let proxy: RunningProxy;

/** Every TLS behaviour on both byte transports: the addon's (TLS in C++) and Node's net (TLS driven from JS). */
const TRANSPORTS = [{ transport: 'native' }, { transport: 'node' }] as const;

describe.each(TRANSPORTS)('--transport $transport', ({ transport }) => {
  beforeAll(async () => {
    upstream = await startUpstream();
    const listener = chainsListener('edge', [{ match: { transport_protocol: 'raw_buffer' } }], {
      virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'backend' } }] }],
    }, true);
    proxy = await startProxy({
      args: ['--transport', transport],
      bootstrap: {
        static_resources: {
          listeners: [{ ...listener, listener_filters_timeout: '0.3s' }],
          clusters: [staticCluster('backend', upstream.port)],
        },
      },
    });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await upstream?.close();
  });

  /** Resolves with how long the proxy took to close a connection that sent `first` and then nothing. */
  function closedAfter(port: number, first: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const socket = net.connect(port, '127.0.0.1', () => socket.write(first));
      socket.on('error', () => {});
      socket.on('close', () => resolve(Date.now() - started));
      setTimeout(() => {
        socket.destroy();
        reject(new Error('the proxy kept the connection open for 10 s'));
      }, 10_000);
    });
  }

  describe('listener_filters_timeout', { timeout: 30_000 }, () => {
    it('closes a connection whose ClientHello does not arrive in time, and counts it', async () => {
      // A TLS handshake record header announcing 512 bytes, then silence.
      const ms = await closedAfter(proxy.ports.get('edge')!, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
      expect(ms).toBeGreaterThanOrEqual(250);
      expect(ms).toBeLessThan(5000);
      const stats = (await admin(proxy, '/stats/prometheus')).body;
      expect(metricSum(stats, 'isthmus_worker_downstream_pre_cx_timeout_total')).toBeGreaterThanOrEqual(1);
    });

    it('still serves a plaintext request whose bytes arrive one at a time', async () => {
      const head = Buffer.from('GET /slow HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      const answer = await new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const socket = net.connect(proxy.ports.get('edge')!, '127.0.0.1', async () => {
          for (const byte of head) {
            socket.write(Buffer.from([byte]));
            await new Promise((r) => setTimeout(r, 2));
          }
        });
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', reject);
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    });
  });
});
