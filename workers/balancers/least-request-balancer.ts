// LEAST_REQUEST with Envoy's choice_count 2: sample two hosts, take the one
// with fewer active requests in this worker (weights scale the count, as
// Envoy does when weights differ). Two choices avoid the herd a global
// minimum causes.
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import { randomUsable, type Balancer } from './balancer.js';

export class LeastRequestBalancer implements Balancer {
  constructor(private readonly hosts: readonly UpstreamEndpoint[]) {}

  pick(_hash: number, avoid: Uint8Array | null): UpstreamEndpoint {
    const hosts = this.hosts;
    if (hosts.length === 1) return hosts[0]!;
    const a = randomUsable(hosts, avoid);
    const b = randomUsable(hosts, avoid);
    return (a.rqActive + 1) / a.weight <= (b.rqActive + 1) / b.weight ? a : b;
  }
}
