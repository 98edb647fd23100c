// One picker per lb_policy, built over one priority level's usable hosts.
import type { Cluster } from '../../src/config/bootstrap-types.js';
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import type { Balancer } from './balancer.js';
import type { LatencyTable } from './latency-table.js';
import { LeastRequestBalancer } from './least-request-balancer.js';
import { MaglevBalancer } from './maglev-balancer.js';
import { PeakEwmaBalancer } from './peak-ewma-balancer.js';
import { RandomBalancer } from './random-balancer.js';
import { RingHashBalancer } from './ring-hash-balancer.js';
import { RoundRobinBalancer } from './round-robin-balancer.js';

/**
 * `hosts` (non-empty): the level's usable hosts; `latency`: the cluster's table (PEAK_EWMA); `sizingWeight`: the weight
 * of all the level's configured hosts, healthy or not (RING_HASH sizes its ring by it).
 */
export function createBalancer(config: Cluster, hosts: readonly UpstreamEndpoint[], latency: LatencyTable | null, sizingWeight?: number): Balancer {
  switch (config.lbPolicy) {
    case 'ROUND_ROBIN':
      return new RoundRobinBalancer(hosts);
    case 'RANDOM':
      return new RandomBalancer(hosts);
    case 'LEAST_REQUEST':
      return new LeastRequestBalancer(hosts);
    case 'RING_HASH':
      return new RingHashBalancer(hosts, config.ringHash, sizingWeight);
    case 'MAGLEV':
      return new MaglevBalancer(hosts, config.maglevTableSize);
    case 'PEAK_EWMA':
      if (latency === null) throw new Error('PEAK_EWMA needs the cluster latency table');
      return new PeakEwmaBalancer(hosts, latency);
  }
}

/** The policies that use the request's hash (hash_policy); Envoy ignores hash_policy for the others. */
export function usesRequestHash(config: Cluster): boolean {
  return config.lbPolicy === 'RING_HASH' || config.lbPolicy === 'MAGLEV';
}
