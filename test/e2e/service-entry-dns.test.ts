// ServiceEntry resolution DNS and DNS_ROUND_ROBIN through the control plane:
// the sidecar gets STRICT_DNS / LOGICAL_DNS clusters (as Istio translates
// them) and resolves the names itself (`localhost` through the system's
// resolver), then routes to what they resolve to.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControl, type RunningControl } from '../control/e2e/control-harness.js';
import { admin, outboundPort, replyName, request, startSidecar, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';

describe('ServiceEntry with DNS resolution', () => {
  let control: RunningControl;
  let proxy: RunningProxy;
  let upstream: Upstream;

  beforeAll(async () => {
    upstream = await startUpstream(replyName('external'));
    const entries = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: payments}
spec:
  hosts: [payments.example.internal]
  location: MESH_EXTERNAL
  resolution: DNS
  ports:
  - {number: 80, name: http, protocol: HTTP}
  endpoints:
  - address: localhost
    ports: {http: ${upstream.port}}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: inventory}
spec:
  hosts: [inventory.example.internal]
  resolution: DNS_ROUND_ROBIN
  ports:
  - {number: 8080, name: http, protocol: HTTP}
  endpoints:
  - address: localhost
    ports: {http: ${upstream.port}}
`;
    control = await startControl((dir) => writeFileSync(join(dir, 'external.yaml'), entries), undefined, ['--push-debounce-quiet', '20ms']);
    proxy = await startSidecar(control.xdsPort, { service: 'client' });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop('SIGTERM', 5000);
    await upstream?.close();
    await control?.stop();
    control?.remove();
  }, 30_000);

  it('resolution DNS: a STRICT_DNS cluster whose endpoint name the sidecar resolves', async () => {
    const cluster = 'outbound|80||payments.example.internal';
    await waitFor('the DNS cluster resolved', async () => (await admin(proxy, '/clusters')).body.includes(`${cluster}::127.0.0.1:${upstream.port}::hostname::localhost`));
    const res = await request(outboundPort(proxy), '/pay', { headers: { host: 'payments.example.internal' } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('external');
    const dump = JSON.parse((await admin(proxy, '/config_dump')).body) as { configs: { dynamic_active_clusters?: { cluster: { name: string; type?: string } }[] }[] };
    const types = new Map(dump.configs.flatMap((c) => c.dynamic_active_clusters ?? []).map((c) => [c.cluster.name, c.cluster.type]));
    expect(types.get(cluster)).toBe('STRICT_DNS');
    expect(types.get('outbound|8080||inventory.example.internal')).toBe('LOGICAL_DNS');
  }, 20_000);

  it('resolution DNS_ROUND_ROBIN: a LOGICAL_DNS cluster', async () => {
    const res = await request(outboundPort(proxy), '/x', { headers: { host: 'inventory.example.internal:8080' } });
    expect(res.status).toBe(200);
    expect(res.body).toBe('external');
  });
});
