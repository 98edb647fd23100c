import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadResourceDir, parseResources } from '../../../control/config/parse-resources.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { isEndpointOnlyChange, type RegistryChange } from '../../../control/registry/registry-types.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { FakeClock } from './fake-clock.js';

const MESH = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));
const REVIEWS = 'reviews.default.svc.cluster.local';
const RATINGS = 'ratings.default.svc.cluster.local';

async function meshRegistry(clock = new FakeClock()) {
  const registry = new ServiceRegistry({ clock, gracePeriodMs: 10_000 });
  const adapter = new IstioConfigAdapter();
  adapter.update(await loadResourceDir(MESH));
  adapter.start(registry);
  const changes: RegistryChange[] = [];
  registry.onChange((c) => changes.push(c));
  return { registry, adapter, clock, changes };
}

function endpointsOf(registry: ServiceRegistry, host: string): string[] {
  return registry.endpoints(host).map((e) => `${e.labels.version}@${e.address}:${Object.values(e.portByServicePort).join(',')}`);
}

const ratingsProxy = {
  id: 'ratings-v2-proxy', service: 'ratings', namespace: 'default', version: 'v2', address: '127.0.0.1', appPort: 9092,
};

describe('ServiceRegistry with the config adapter', () => {
  it('holds the example mesh services with endpoints from ServiceEntry and selected WorkloadEntries', async () => {
    const { registry } = await meshRegistry();
    expect(registry.allServices().map((s) => `${s.host} ${s.namespace} ${s.ports.map((p) => `${p.number}/${p.protocol}`)}`)).toEqual([
      `${RATINGS} default 9080/HTTP`, `${REVIEWS} default 9080/HTTP`,
    ]);
    expect(endpointsOf(registry, REVIEWS)).toEqual(['v1@127.0.0.1:9081', 'v2@127.0.0.1:9082', 'v3@127.0.0.1:9083']);
    expect(endpointsOf(registry, RATINGS)).toEqual(['v1@127.0.0.1:9091']);
    expect(registry.endpoints(RATINGS)[0]!.serviceAccount).toBe('ratings');
  });

  it('reports an endpoint-only config change with only the affected host', async () => {
    const { registry, adapter, changes } = await meshRegistry();
    const resources = await loadResourceDir(MESH);
    const moved = parseResources(
      'apiVersion: networking.istio.io/v1beta1\nkind: WorkloadEntry\nmetadata: {name: ratings-1}\n'
        + 'spec: {address: 127.0.0.1, ports: {http: 9099}, labels: {app: ratings, version: v1}}\n',
      'moved.yaml',
    );
    const change = adapter.update([...resources.filter((r) => r.kind !== 'WorkloadEntry'), ...moved])!;
    expect(change).toEqual({ services: [], endpoints: [RATINGS] });
    expect(isEndpointOnlyChange(change)).toBe(true);
    expect(changes).toEqual([change]);
    expect(endpointsOf(registry, RATINGS)).toEqual(['v1@127.0.0.1:9099']);
    // The same resources again: nothing changed, nothing reported.
    expect(adapter.update([...resources.filter((r) => r.kind !== 'WorkloadEntry'), ...moved])).toEqual({ services: [], endpoints: [] });
    expect(changes).toHaveLength(1);
  });

  it('reports a service change when a ServiceEntry goes, and its endpoints with it', async () => {
    const { registry, adapter } = await meshRegistry();
    const resources = await loadResourceDir(MESH);
    const change = adapter.update(resources.filter((r) => !(r.kind === 'ServiceEntry' && r.metadata.name === 'ratings')))!;
    expect(change).toEqual({ services: [RATINGS], endpoints: [RATINGS] });
    expect(isEndpointOnlyChange(change)).toBe(false);
    expect(registry.service(RATINGS)).toBeUndefined();
    expect(registry.endpoints(RATINGS)).toEqual([]);
  });
});

describe('ServiceRegistry auto-registration', () => {
  it('makes a registered proxy an endpoint of the service selecting it, and removes it after the grace period', async () => {
    const { registry, clock, changes } = await meshRegistry();
    const change = registry.register(ratingsProxy);
    expect(change).toEqual({ services: [], endpoints: [RATINGS] });
    expect(endpointsOf(registry, RATINGS)).toEqual(['v1@127.0.0.1:9091', 'v2@127.0.0.1:9092']);

    registry.unregister(ratingsProxy.id);
    clock.advance(9_999);
    expect(endpointsOf(registry, RATINGS)).toHaveLength(2);
    clock.advance(1);
    expect(endpointsOf(registry, RATINGS)).toEqual(['v1@127.0.0.1:9091']);
    expect(changes.at(-1)).toEqual({ services: [], endpoints: [RATINGS] });
    expect(clock.pending).toBe(0);
  });

  it('keeps a proxy that reconnects within the grace period', async () => {
    const { registry, clock } = await meshRegistry();
    registry.register(ratingsProxy);
    registry.unregister(ratingsProxy.id);
    clock.advance(5_000);
    expect(registry.register(ratingsProxy)).toEqual({ services: [], endpoints: [] });
    clock.advance(60_000);
    expect(endpointsOf(registry, RATINGS)).toContain('v2@127.0.0.1:9092');
  });

  it('implies a service for a proxy no ServiceEntry names, and drops it with its last workload', async () => {
    const { registry, clock } = await meshRegistry();
    const details = 'details.default.svc.cluster.local';
    const change = registry.register({ id: 'd1', service: 'details', namespace: 'default', address: '127.0.0.1', appPort: 9301, servicePort: 9080 });
    expect(change).toEqual({ services: [details], endpoints: [details] });
    expect(registry.service(details)).toMatchObject({ source: 'auto', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] });
    expect(registry.endpoints(details).map((e) => e.portByServicePort)).toEqual([{ 9080: 9301 }]);
    expect(registry.endpoints(details)[0]!.labels).toEqual({ app: 'details' });
    registry.unregister('d1');
    clock.advance(10_000);
    expect(registry.service(details)).toBeUndefined();
    expect(registry.endpoints(details)).toEqual([]);
  });

  it('rejects a bad announcement naming every bad field, and registers nothing', async () => {
    const { registry } = await meshRegistry();
    expect(() => registry.register({ id: 'x', service: 'Bad_Name', namespace: 'default', address: 'localhost', appPort: 70000 }))
      .toThrow(/service must be a DNS name.*address must be an IP address.*appPort must be a port/);
    expect(registry.registeredWorkload('x')).toBeUndefined();
  });

  it('refuses an announcement naming another namespace\'s cluster-local host: a proxy may not join another namespace\'s service', async () => {
    const { registry } = await meshRegistry();
    // The TLS port proves a proxy's NAMESPACE from its token; a SERVICE written as a host must stay inside it.
    expect(() => registry.register({ id: 'cart-1', service: REVIEWS, namespace: 'shop', address: '127.0.0.66', appPort: 9080 }))
      .toThrow(/service host "reviews\.default\.svc\.cluster\.local" is in namespace "default", not the workload's namespace "shop"/);
    expect(() => registry.register({ id: 'cart-2', service: 'details.default.svc.cluster.local', namespace: 'shop', address: '127.0.0.66', appPort: 9080 }))
      .toThrow(/not the workload's namespace "shop"/);
    expect(registry.endpoints(REVIEWS).map((e) => e.address)).not.toContain('127.0.0.66');
    expect(registry.service('details.default.svc.cluster.local')).toBeUndefined();
    // Its own namespace's host, written in full, is fine.
    registry.register({ id: 'cart-3', service: 'cart.shop.svc.cluster.local', namespace: 'shop', address: '127.0.0.66', appPort: 9080 });
    expect(registry.endpoints('cart.shop.svc.cluster.local').map((e) => e.address)).toEqual(['127.0.0.66']);
  });

  it('makes a proxy an endpoint of a host another namespace\'s ServiceEntry defines only from that namespace', async () => {
    const { registry } = await meshRegistry();
    registry.setSource('ops', {
      services: [{ host: 'db.example.com', namespace: 'ops', ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }], addresses: [], source: 'ops' }],
      inlineEndpoints: {},
      workloads: [],
    });
    registry.register({ id: 'db-1', service: 'db.example.com', namespace: 'ops', address: '127.0.0.5', appPort: 5432 });
    registry.register({ id: 'evil-1', service: 'db.example.com', namespace: 'shop', address: '127.0.0.66', appPort: 5432 });
    expect(registry.endpoints('db.example.com').map((e) => e.address)).toEqual(['127.0.0.5']);
  });

  it('uses a platform adapter as a second source without disturbing the first', async () => {
    const { registry } = await meshRegistry();
    const change = registry.setSource('consul', {
      services: [{ host: 'billing.example.com', namespace: 'default', ports: [{ number: 80, name: 'http', protocol: 'HTTP' }], addresses: [], source: 'consul' }],
      inlineEndpoints: { 'billing.example.com': [{ id: 'b1', namespace: 'default', address: '127.0.0.1', ports: { http: 8080 }, labels: {}, serviceAccount: '', weight: 3 }] },
      workloads: [],
    });
    expect(change).toEqual({ services: ['billing.example.com'], endpoints: ['billing.example.com'] });
    expect(registry.endpoints('billing.example.com').map((e) => [e.portByServicePort[80], e.weight])).toEqual([[8080, 3]]);
    expect(registry.allServices()).toHaveLength(3);
    expect(registry.removeSource('consul')).toEqual({ services: ['billing.example.com'], endpoints: ['billing.example.com'] });
  });
});
