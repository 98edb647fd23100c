// The per-config lookups translation memoizes: bounded, since the hosts they
// are asked about include those registering proxies name (which come and go
// while one config stays).
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../control/config/parse-resources.js';
import { createMeshConfig, MAX_MEMOIZED_HOSTS } from '../../../control/translate/mesh-config.js';

const VS = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: wild, namespace: default}
spec:
  hosts: ["*.example.com"]
  http:
  - route:
    - destination: {host: backend.example.com}
`;

describe('createMeshConfig', () => {
  it('keeps the VirtualService-by-host memo bounded over many distinct hosts, and still answers correctly', () => {
    const config = createMeshConfig(parseResources(VS, 'vs.yaml'));
    for (let i = 0; i < MAX_MEMOIZED_HOSTS * 2 + 5; i++) {
      const host = i % 2 === 0 ? `svc-${i}.example.com` : `svc-${i}.default.svc.cluster.local`;
      const found = config.virtualServiceFor(host);
      expect(found?.metadata.name).toBe(i % 2 === 0 ? 'wild' : undefined);
    }
    expect(config.memoizedHosts()).toBeGreaterThan(0);
    expect(config.memoizedHosts()).toBeLessThanOrEqual(MAX_MEMOIZED_HOSTS);
  });
});
