// Config durations longer than a Node timer holds (2^31-1 ms, ~24.8 days):
// Node fires such a timer after 1 ms, so a route timeout of 35 days would
// time every request out at once. A long timeout must mean "wait long".
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpListener, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { staticCluster } from '../support/tls-bootstrap.js';

let upstream: Upstream;
let healthChecks = 0;

/** A listener whose HCM's stream idle and request headers timeouts are ~35 days. */
function longIdleListener(): Record<string, unknown> {
  const l = httpListener('idle', 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app', timeout: '5s' } }] }] });
  const hcm = ((l.filter_chains as Record<string, unknown>[])[0]!.filters as Record<string, unknown>[])[0]!.typed_config as Record<string, unknown>;
  hcm.stream_idle_timeout = '3000000s';
  hcm.request_headers_timeout = '3000000s';
  return l;
}
let proxy: RunningProxy;
/** The same config on Node's own sockets (--transport node). */
let nodeProxy: RunningProxy;

function bootstrap(): Record<string, unknown> {
  return {
      static_resources: {
        listeners: [httpListener('ingress', 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
          { match: { prefix: '/grpc' }, route: { cluster: 'app', timeout: '5s', max_stream_duration: { grpc_timeout_header_max: '0s' } } },
          { match: { prefix: '/' }, route: { cluster: 'app', timeout: '3000000s' } },
        ] }] }), longIdleListener()],
        clusters: [staticCluster('app', upstream.port), {
          ...staticCluster('checked', upstream.port),
          health_checks: [{ timeout: '1s', interval: '3000000s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/healthz' } }],
        }],
      },
    };
}

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    if (req.url === '/healthz') {
      healthChecks++;
      res.end('ok');
      return;
    }
    setTimeout(() => res.end('late'), 200);
  });
  proxy = await startProxy({ bootstrap: bootstrap() });
  nodeProxy = await startProxy({ bootstrap: bootstrap(), args: ['--transport', 'node'] });
}, 60_000);

afterAll(async () => {
  await nodeProxy?.stop();
  await proxy?.stop();
  await upstream?.close();
});

describe('timeouts past a Node timer', () => {
  it('a route timeout of ~35 days waits for a slow upstream instead of 504 at once', async () => {
    const r = await request(proxy.port, '/slow');
    expect(r.status).toBe(200);
    expect(r.body).toBe('late');
  });

  it('stream_idle_timeout and request_headers_timeout of ~35 days do not end a request at once (native and node transports)', async () => {
    for (const p of [proxy, nodeProxy]) {
      const r = await request(p.ports.get('idle')!, '/slow');
      expect(r.status).toBe(200);
      expect(r.body).toBe('late');
    }
  });

  it('a request head sent in two parts 100 ms apart is not refused under a ~35-day request_headers_timeout', async () => {
    for (const p of [proxy, nodeProxy]) {
      const text = await new Promise<string>((resolve, reject) => {
        const sock = net.connect(p.ports.get('idle')!, '127.0.0.1');
        let got = '';
        const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no answer: ${got}`)); }, 8000);
        sock.on('data', (c: Buffer) => (got += c.latin1Slice()));
        sock.on('close', () => { clearTimeout(timer); resolve(got); });
        sock.on('error', () => {});
        sock.write('GET /slow HTTP/1.1\r\nhost: a\r\n');
        setTimeout(() => sock.write('connection: close\r\n\r\n'), 100);
      });
      expect(text).toMatch(/^HTTP\/1\.1 200/);
      expect(text.endsWith('late')).toBe(true);
    }
  });

  it('a health check interval of ~35 days does not check in a loop', async () => {
    const before = healthChecks;
    await new Promise((r) => setTimeout(r, 1000));
    // Two proxies: at most a check or two each in that second (a timer firing at 1 ms checks hundreds of times).
    expect(healthChecks - before).toBeLessThanOrEqual(4);
  });

  it('a client\'s grpc-timeout of 720 hours (unbounded by grpc_timeout_header_max: 0s) waits instead of 504 at once', async () => {
    const r = await request(proxy.port, '/grpc', { headers: { 'grpc-timeout': '720H' } });
    expect(r.status).toBe(200);
    expect(r.body).toBe('late');
  });
});
