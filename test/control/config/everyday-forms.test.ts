// Istio forms users write every day that used to be refused: the deprecated
// integer `fault.delay.percent` (still in Istio's CRD and its request-timeouts
// task) and `consistentHash.minimumRingSize` (still honoured by Istio as
// ring_hash_lb_config.minimum_ring_size). Each is read and translated as Istio does.
import { describe, expect, it } from 'vitest';
import type { DestinationRule, VirtualService } from '../../../control/config/istio-types.js';
import { parseResources } from '../../../control/config/parse-resources.js';
import { clusterPolicyFields } from '../../../control/translate/traffic-policy.js';
import { readClusterObject } from '../../../src/config/parse-resource-object.js';
import { ConfigError } from '../../../src/config/config-error.js';

const VS_HEAD = 'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [ratings]\n  http:\n';

function vs(text: string): VirtualService {
  return parseResources(text, 'vs.yaml')[0] as VirtualService;
}

describe('fault.delay.percent', () => {
  it('reads the integer percent as istio.io writes it (request-timeouts task)', () => {
    const text = `${VS_HEAD}  - fault:\n      delay: {percent: 100, fixedDelay: 2s}\n    route: [{destination: {host: ratings, subset: v1}}]\n`;
    expect(vs(text).spec.http[0]!.fault).toEqual({ delay: { percentage: 100, fixedDelayMs: 2000 } });
  });

  it('lets percentage win when both are written, as Istio does', () => {
    const text = `${VS_HEAD}  - fault:\n      delay: {percent: 100, percentage: {value: 5}, fixedDelay: 1s}\n    route: [{destination: {host: ratings}}]\n`;
    expect(vs(text).spec.http[0]!.fault?.delay?.percentage).toBe(5);
  });

  it('refuses a percent outside 0..100', () => {
    const text = `${VS_HEAD}  - fault:\n      delay: {percent: 150, fixedDelay: 1s}\n    route: [{destination: {host: ratings}}]\n`;
    expect(() => parseResources(text, 'vs.yaml')).toThrow(ConfigError);
    expect(() => parseResources(text, 'vs.yaml')).toThrow('vs.yaml:8: spec.http[0].fault.delay.percent must be between 0 and 100');
  });
});

describe('consistentHash.minimumRingSize', () => {
  const dr = (lb: string): DestinationRule => parseResources(
    `apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {name: r}\nspec:\n  host: ratings\n  trafficPolicy:\n    loadBalancer:\n      consistentHash: ${lb}\n`,
    'dr.yaml',
  )[0] as DestinationRule;

  it('becomes ring_hash_lb_config.minimum_ring_size, and the proxy reads the cluster', () => {
    const fields = clusterPolicyFields(dr('{httpHeaderName: x-user, minimumRingSize: 4096}').spec.trafficPolicy!, 1000);
    expect(fields).toMatchObject({ lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: { value: 4096 } } });
    const cluster = {
      name: 'c', type: 'STATIC', ...fields,
      load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }] },
    };
    const read = readClusterObject(JSON.parse(JSON.stringify(cluster, (_k, v) => (v !== null && typeof v === 'object' && 'value' in v && Object.keys(v).length === 1 ? v.value : v))), 'Cluster c');
    expect(read.problems).toEqual([]);
    expect(read.value?.ringHash.minRingSize).toBe(4096);
  });

  it('keeps Istio\'s default of 1024 when unset or 0, and refuses a size past Envoy\'s 8M limit', () => {
    expect(clusterPolicyFields(dr('{useSourceIp: true}').spec.trafficPolicy!, 1000)).toMatchObject({ ring_hash_lb_config: { minimum_ring_size: { value: 1024 } } });
    expect(clusterPolicyFields(dr('{useSourceIp: true, minimumRingSize: 0}').spec.trafficPolicy!, 1000)).toMatchObject({ ring_hash_lb_config: { minimum_ring_size: { value: 1024 } } });
    expect(() => dr('{useSourceIp: true, minimumRingSize: 9000000}')).toThrow('dr.yaml:8: spec.trafficPolicy.loadBalancer.consistentHash.minimumRingSize must be between 0 and 8388608');
  });
});
