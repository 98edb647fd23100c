// Config durations longer than a Node timer holds (2^31-1 ms, ~24.8 days):
// Node fires such a timer after 1 ms, so a route timeout of 35 days would
// time every request out at once. A long timeout must mean "wait long".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpListener, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { staticCluster } from '../support/tls-bootstrap.js';

let upstream: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream((_req, res) => {
    setTimeout(() => res.end('late'), 200);
  });
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [httpListener('ingress', 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
          { match: { prefix: '/grpc' }, route: { cluster: 'app', timeout: '5s', max_stream_duration: { grpc_timeout_header_max: '0s' } } },
          { match: { prefix: '/' }, route: { cluster: 'app', timeout: '3000000s' } },
        ] }] })],
        clusters: [staticCluster('app', upstream.port)],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

describe('timeouts past a Node timer', () => {
  it('a route timeout of ~35 days waits for a slow upstream instead of 504 at once', async () => {
    const r = await request(proxy.port, '/slow');
    expect(r.status).toBe(200);
    expect(r.body).toBe('late');
  });

  it('a client\'s grpc-timeout of 720 hours (unbounded by grpc_timeout_header_max: 0s) waits instead of 504 at once', async () => {
    const r = await request(proxy.port, '/grpc', { headers: { 'grpc-timeout': '720H' } });
    expect(r.status).toBe(200);
    expect(r.body).toBe('late');
  });
});
