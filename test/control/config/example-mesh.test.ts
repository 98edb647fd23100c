import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeResources } from '../../../control/config/analyze.js';
import type { DestinationRule, ServiceEntry, Sidecar, VirtualService } from '../../../control/config/istio-types.js';
import { loadResourceDir } from '../../../control/config/parse-resources.js';

const MESH = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));

describe('examples/mesh', () => {
  it('parses and analyzes clean', async () => {
    const resources = await loadResourceDir(MESH);
    expect(resources.map((r) => `${r.kind}/${r.metadata.name}`)).toEqual([
      'DestinationRule/reviews', 'ServiceEntry/reviews', 'ServiceEntry/ratings', 'WorkloadEntry/ratings-1',
      'VirtualService/reviews', 'Sidecar/default',
    ]);
    expect(analyzeResources(resources)).toEqual([]);
  });

  it('describes reviews v1/v2/v3, a 90/10 split and namespace-scoped proxies', async () => {
    const resources = await loadResourceDir(MESH);
    const find = <T>(kind: string, name: string) => resources.find((r) => r.kind === kind && r.metadata.name === name) as T;
    const se = find<ServiceEntry>('ServiceEntry', 'reviews');
    expect(se.spec.endpoints.map((e) => `${e.labels.version}@${e.address}:${e.ports.http}`)).toEqual([
      'v1@127.0.0.1:9081', 'v2@127.0.0.1:9082', 'v3@127.0.0.1:9083',
    ]);
    expect(find<DestinationRule>('DestinationRule', 'reviews').spec.subsets.map((s) => s.name)).toEqual(['v1', 'v2', 'v3']);
    const split = find<VirtualService>('VirtualService', 'reviews').spec.http[1]!;
    expect(split.route.map((r) => [r.destination.subset, r.weight])).toEqual([['v1', 90], ['v2', 10]]);
    expect(find<Sidecar>('Sidecar', 'default').spec.egress[0]!.hosts).toEqual([{ written: './*', namespace: 'default', dnsName: '*' }]);
  });
});
