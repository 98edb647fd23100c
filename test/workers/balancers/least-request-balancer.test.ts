import { describe, expect, it } from 'vitest';
import { NO_HASH } from '../../../workers/balancers/balancer.js';
import { LeastRequestBalancer } from '../../../workers/balancers/least-request-balancer.js';
import { countPicks, endpointsOf } from './lb-fixtures.js';

describe('LeastRequestBalancer', () => {
  it('prefers the host with fewer active requests', () => {
    const hosts = endpointsOf('LEAST_REQUEST', [1, 2]);
    hosts[0]!.rqActive = 10;
    const b = new LeastRequestBalancer(hosts);
    const counts = countPicks(4000, () => b.pick(NO_HASH, null));
    // Two samples with replacement: the busy host wins only when drawn twice (1/4).
    expect(counts.get(1)! / 4000).toBeGreaterThan(0.2);
    expect(counts.get(1)! / 4000).toBeLessThan(0.3);
  });

  it('scales active requests by weight', () => {
    const hosts = endpointsOf('LEAST_REQUEST', [{ port: 1, weight: 4 }, { port: 2, weight: 1 }]);
    hosts[0]!.rqActive = 2; // (2+1)/4 < (0+1)/1
    const b = new LeastRequestBalancer(hosts);
    const counts = countPicks(2000, () => b.pick(NO_HASH, null));
    expect(counts.get(1)! / 2000).toBeGreaterThan(0.7);
  });

  it('never returns an avoided host while another exists', () => {
    const hosts = endpointsOf('LEAST_REQUEST', [1, 2, 3]);
    const b = new LeastRequestBalancer(hosts);
    const avoid = new Uint8Array(3);
    avoid[1] = 1;
    for (let i = 0; i < 300; i++) expect(b.pick(NO_HASH, avoid).port).not.toBe(2);
  });
});
