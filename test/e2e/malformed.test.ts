// The malformed / smuggling corpus against a running proxy: each request is
// refused with 400 or 431 and its connection closed, nothing reaches the
// upstream, and the proxy keeps serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { malformedRequests } from '../native/malformed-requests.js';
import {
  bootstrapWith, keepAliveAgent, rawExchange, replyName, request, startProxy, startUpstream, statusCodes, type RunningProxy, type Upstream,
} from './harness.js';

let upstream: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream(replyName('up'));
  proxy = await startProxy({
    bootstrap: bootstrapWith({ virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }] }, [
      { name: 'up', ports: [upstream.port] },
    ]),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

describe('malformed requests', () => {
  it('has a corpus of at least 40 cases', () => {
    expect(malformedRequests.length).toBeGreaterThanOrEqual(40);
  });

  for (const c of malformedRequests) {
    it(`refuses: ${c.name}`, async () => {
      const res = await rawExchange(proxy.port, Buffer.from(c.raw, 'latin1'), 3000);
      expect(statusCodes(res.text)).toEqual([c.expectStatus]);
      expect(res.closed).toBe(true);
    });
  }

  it('never forwarded a malformed head upstream and still serves', async () => {
    // Bad chunk framing is caught after the head went upstream; the upstream never gets a complete request.
    const res = await request(proxy.port, '/after', { agent: keepAliveAgent });
    expect(res.status).toBe(200);
    expect(upstream.seen.map((s) => s.url)).toEqual(['/after']);
  });
});
