// With two workers, the kernel spreads connections over both SO_REUSEPORT
// sockets: both accept, and the admin stats show it per worker.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin, bootstrapWith, rawExchange, replyName, startProxy, startUpstream, type RunningProxy, type Upstream,
} from './harness.js';

let upstream: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream(replyName('up'));
  proxy = await startProxy({
    bootstrap: bootstrapWith({ virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }] }, [
      { name: 'up', ports: [upstream.port] },
    ]),
    workers: 2,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

describe('two workers', () => {
  it('both accept connections on the shared port', async () => {
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.all(
        Array.from({ length: 20 }, () => rawExchange(proxy.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')),
      );
      for (const r of results) expect(r.text).toMatch(/^HTTP\/1\.1 200/);
    }
    const text = (await admin(proxy, '/stats/prometheus')).body;
    const perWorker = [...text.matchAll(/^isthmus_worker_downstream_cx_total\{worker="(\d+)"\} (\d+)/gm)].map((m) => Number(m[2]));
    expect(perWorker).toHaveLength(2);
    expect(perWorker.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(200);
    for (const n of perWorker) expect(n).toBeGreaterThan(20);
  });
});
