// The policy filter in a sidecar's inbound HTTP connection manager: present
// only when the policy has rules, before the router, with the destination
// workload's static attributes and the names the rules read; and the
// listener it makes is one the proxy accepts (encoded, decoded, read).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadResourceDir } from '../../../control/config/parse-resources.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type MeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import type { PolicySummary } from '../../../control/translate/mixer-filter.js';
import { translateInbound } from '../../../control/translate/translate-for-proxy.js';
import { encodeResource } from '../../../control/xds/resource-encoder.js';
import { readListenerObject } from '../../../src/config/parse-resource-object.js';
import { ProtoJson } from '../../../src/xds/proto-json.js';
import { loadXdsProtos, TYPE_URL } from '../../../src/xds/xds-protos.js';
import { FakeClock } from '../registry/fake-clock.js';

const MESH = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));
const reviews: ProxyIdentity = { id: 'reviews-v1-1', namespace: 'default', service: 'reviews', labels: { app: 'reviews', version: 'v1' }, appPort: 9081 };

async function inboundWith(summary: PolicySummary | null): Promise<{ listener: any }> {
  const resources = await loadResourceDir(MESH);
  const registry = new ServiceRegistry({ clock: new FakeClock() });
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  const config = Object.create(createMeshConfig(resources), { policySummary: { value: summary } }) as MeshConfig;
  return { listener: translateInbound(reviews, config, registry).listeners[0] };
}

const filtersOf = (listener: any): any[] => listener.filter_chains[0].filters[0].typed_config.http_filters;

describe('the policy filter in inbound listeners', () => {
  it('is absent without policy rules', async () => {
    for (const summary of [null, { checkAttributes: [], reportAttributes: [], quotas: [], hasCheckRules: false, hasReportRules: false }]) {
      const { listener } = await inboundWith(summary);
      expect(filtersOf(listener).map((f) => f.name)).toEqual(['envoy.filters.http.router']);
    }
  });

  it('comes before the router with the destination workload and what the rules read', async () => {
    const { listener } = await inboundWith({
      checkAttributes: ['request.headers', 'source.principal'], reportAttributes: ['response.code'],
      quotas: [{ quota: 'requestcount.quota.istio-system', charge: 1 }], hasCheckRules: true, hasReportRules: false,
    });
    const filters = filtersOf(listener);
    expect(filters.map((f) => f.name)).toEqual(['isthmus.filters.http.mixer', 'envoy.filters.http.router']);
    const config = filters[0].typed_config;
    expect(config).toMatchObject({
      check_attributes: ['request.headers', 'source.principal'], report_attributes: ['response.code'],
      quotas: [{ quota: 'requestcount.quota.istio-system', charge: 1 }], disable_check_calls: false, disable_report_calls: true,
    });
    const a = config.mixer_attributes.attributes;
    expect(a['destination.service.host']).toEqual({ string_value: 'reviews.default.svc.cluster.local' });
    expect(a['destination.service.name']).toEqual({ string_value: 'reviews' });
    expect(a['destination.labels']).toEqual({ string_map_value: { entries: { app: 'reviews', version: 'v1' } } });
    expect(a['destination.workload.namespace']).toEqual({ string_value: 'default' });
    expect(a['context.reporter.kind']).toEqual({ string_value: 'inbound' });

    // What the proxy receives over ADS reads back into its config.
    const protoJson = new ProtoJson(loadXdsProtos().packageDefinition);
    const json = protoJson.resourceToJson({ type_url: TYPE_URL.LISTENER, value: encodeResource(TYPE_URL.LISTENER, listener).bytes });
    const read = readListenerObject(json, 'Listener inbound');
    expect(read.problems).toEqual([]);
    const mixer = read.value!.filterChains[0]!.hcm.httpFilters.mixer!;
    expect(mixer.checkCluster).toBe('');
    expect(mixer.checkAttributes).toEqual(['request.headers', 'source.principal']);
    expect(mixer.mixerAttributes.find((m) => m.name === 'destination.service.host')?.value).toBe('reviews.default.svc.cluster.local');
  });
});
