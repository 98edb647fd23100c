import { describe, expect, it } from 'vitest';
import { parseResources } from '../../../control/config/parse-resources.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { readNodeMetadata } from '../../../control/registry/node-metadata.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import { translateEndpoints } from '../../../control/translate/translate-for-proxy.js';
import { FakeClock } from '../registry/fake-clock.js';

const HOST = 'reviews.default.svc.cluster.local';
const CLUSTER = `outbound|9080||${HOST}`;

function entries(dr: string): string {
  return `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [${HOST}]
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints:
  - { address: 10.0.0.1, locality: us-east/zone-a/rack-1 }
  - { address: 10.0.0.2, locality: us-east/zone-a/rack-2 }
  - { address: 10.0.0.3, locality: us-east/zone-b }
  - { address: 10.0.0.4, locality: eu-west/zone-c }
  - { address: 10.0.0.5, locality: ap-south/zone-d }
  - { address: 10.0.0.6 }
${dr}`;
}

const OUTLIER = `
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: default }
spec:
  host: ${HOST}
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 30s }
`;

function translate(yaml: string, proxy: ProxyIdentity): { priorities: Record<string, number> } {
  const resources = parseResources(yaml, 'mesh.yaml');
  const registry = new ServiceRegistry({ clock: new FakeClock() });
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  const cla = translateEndpoints(proxy, [CLUSTER], createMeshConfig(resources), registry)[0] as any;
  const priorities: Record<string, number> = {};
  for (const group of cla.endpoints) {
    for (const e of group.lb_endpoints) priorities[e.endpoint.address.socket_address.address] = group.priority ?? 0;
  }
  return { priorities };
}

const proxyAt = (region: string, zone: string, subZone: string): ProxyIdentity => ({
  id: 'productpage-1', namespace: 'default', service: 'productpage', labels: { app: 'productpage' }, locality: { region, zone, subZone },
});

describe('locality failover priorities (Istio localityLbSetting)', () => {
  it('orders endpoints by closeness to the proxy when the DestinationRule has outlier detection', () => {
    const { priorities } = translate(entries(OUTLIER), proxyAt('us-east', 'zone-a', 'rack-1'));
    expect(priorities).toEqual({
      '10.0.0.1': 0, // same subzone
      '10.0.0.2': 1, // same zone
      '10.0.0.3': 2, // same region
      '10.0.0.4': 3, '10.0.0.5': 3, '10.0.0.6': 3, // elsewhere (no failover rule)
    });
  });

  it('puts the failover region before the rest and closes gaps in the priorities', () => {
    const dr = OUTLIER + `    loadBalancer:
      localityLbSetting:
        failover: [{ from: us-east, to: eu-west }]
`;
    const { priorities } = translate(entries(dr), proxyAt('us-east', 'zone-x', ''));
    // No endpoint shares the proxy's zone: same region is 0, the failover region 1, the rest 2.
    expect(priorities).toEqual({ '10.0.0.1': 0, '10.0.0.2': 0, '10.0.0.3': 0, '10.0.0.4': 1, '10.0.0.5': 2, '10.0.0.6': 2 });
  });

  it('leaves priorities out without outlier detection, when disabled, or when the proxy has no locality', () => {
    const all0 = { '10.0.0.1': 0, '10.0.0.2': 0, '10.0.0.3': 0, '10.0.0.4': 0, '10.0.0.5': 0, '10.0.0.6': 0 };
    expect(translate(entries(''), proxyAt('us-east', 'zone-a', 'rack-1')).priorities).toEqual(all0);
    const disabled = OUTLIER + '    loadBalancer: { simple: ROUND_ROBIN, localityLbSetting: { enabled: false } }\n';
    expect(translate(entries(disabled), proxyAt('us-east', 'zone-a', 'rack-1')).priorities).toEqual(all0);
    const { locality: _l, ...nowhere } = proxyAt('us-east', 'zone-a', 'rack-1');
    expect(translate(entries(OUTLIER), nowhere).priorities).toEqual(all0);
  });

  it('rejects a bad locality string and a failover without regions, naming the field', () => {
    const bad = `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: w, namespace: default }
spec: { address: 10.0.0.9, locality: "us east/a" }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: r, namespace: default }
spec:
  host: ${HOST}
  trafficPolicy:
    loadBalancer: { localityLbSetting: { failover: [{ from: us-east }] } }
`;
    expect(() => parseResources(bad, 'bad.yaml')).toThrow(/bad\.yaml:5: spec\.locality must be region\/zone\/subzone[\s\S]*spec\.trafficPolicy\.loadBalancer\.localityLbSetting\.failover\[0\]\.to is required/);
  });

  it('takes the proxy locality from the xDS node and announces the workload there', () => {
    const read = readNodeMetadata('n1', { SERVICE: 'reviews', INSTANCE_IPS: '10.1.1.1', APP_PORT: '9080' }, { region: 'r', zone: 'z', subZone: '' });
    expect(read.proxy.locality).toEqual({ region: 'r', zone: 'z', subZone: '' });
    expect(read.announcement?.locality).toEqual({ region: 'r', zone: 'z', subZone: '' });
  });
});
