// istio_requests_total series in one worker: requests that alternate between
// series, and repeat one, are each counted in their own series (the recorder
// remembers the last series it found: a repeat must not be credited to it
// when any label differs).
import { describe, expect, it } from 'vitest';
import { internSecurity, RequestStats } from '../../workers/request-stats.js';

describe('RequestStats', () => {
  it('counts each request in the series of its own listener, cluster, code, flags, gRPC status and security', () => {
    const stats = new RequestStats();
    const mtls = internSecurity('mutual_tls', 'spiffe://a', 'spiffe://b');
    const calls: [string, string, number, number, number, ReturnType<typeof internSecurity>][] = [
      ['in', 'a', 200, 0, -1, null],
      ['in', 'a', 200, 0, -1, null],
      ['in', 'b', 200, 0, -1, null],
      ['in', 'a', 503, 4, -1, null],
      ['out', 'a', 200, 0, -1, null],
      ['in', 'a', 200, 0, 14, null],
      ['in', 'a', 200, 0, -1, mtls],
      ['in', 'a', 200, 0, -1, null],
    ];
    for (const [listener, cluster, code, flags, grpc, security] of calls) stats.record(listener, cluster, code, flags, 3, grpc, security);
    const counts = stats.snapshot().map((s) => `${s.listener}/${s.cluster}/${s.responseCode}/${s.responseFlags}/${s.grpcStatus ?? ''}/${s.security?.policy ?? ''}=${s.count}`).sort();
    expect(counts).toEqual([
      'in/a/200/-//=3', 'in/a/200/-//mutual_tls=1', 'in/a/200/-/14/=1', 'in/a/503/UF//=1', 'in/b/200/-//=1', 'out/a/200/-//=1',
    ]);
    expect(stats.downstreamRqTotal).toBe(8);
  });
});
