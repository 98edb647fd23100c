import { describe, expect, it } from 'vitest';
import { mergeWorkerStats, type WorkerStatsInput } from '../../src/stats/merge-worker-stats.js';

function worker(id: number, over: Partial<WorkerStatsInput> = {}): WorkerStatsInput {
  return { workerId: id, downstreamCxActive: 0, downstreamCxTotal: 0, requests: [], clusters: [], ...over };
}
const cluster = (name: string, n: number) => ({
  cluster: name, cxActive: n, cxIdle: 0, cxTotal: 10 * n, cxConnectFail: 1, cxProtocolError: 0, rqActive: n, rqTotal: 100 * n, rqRetry: 2, rqTimeout: 3,
});

describe('mergeWorkerStats', () => {
  it('sums request series with the same cluster, code and flags across workers', () => {
    const merged = mergeWorkerStats([
      worker(1, { requests: [{ cluster: 'b', listener: 'outbound', responseCode: 200, responseFlags: '-', count: 3, durationSumMs: 4.5, durationBuckets: [1, 2, 3] }] }),
      worker(0, {
        requests: [
          { cluster: 'b', listener: 'outbound', responseCode: 200, responseFlags: '-', count: 2, durationSumMs: 1, durationBuckets: [0, 2, 2] },
          { cluster: 'b', listener: 'outbound', responseCode: 503, responseFlags: 'UF', count: 1, durationSumMs: 7, durationBuckets: [0, 0, 1] },
          { cluster: '', listener: 'outbound', responseCode: 404, responseFlags: 'NR', count: 4, durationSumMs: 0.4, durationBuckets: [4, 4, 4] },
        ],
      }),
    ]);
    expect(merged.requests).toEqual([
      { cluster: '', responseCode: 404, responseFlags: 'NR', count: 4, durationSumMs: 0.4, durationBuckets: [4, 4, 4] },
      { cluster: 'b', responseCode: 200, responseFlags: '-', count: 5, durationSumMs: 5.5, durationBuckets: [1, 4, 5] },
      { cluster: 'b', responseCode: 503, responseFlags: 'UF', count: 1, durationSumMs: 7, durationBuckets: [0, 0, 1] },
    ]);
  });

  it('sums cluster counters and keeps per-worker connection counts apart', () => {
    const merged = mergeWorkerStats([
      worker(1, { downstreamCxActive: 2, downstreamCxTotal: 7, downstreamCxOverflow: 4, acceptPausedTotal: 1, clusters: [cluster('x', 1), cluster('a', 5)] }),
      worker(0, { downstreamCxActive: 1, downstreamCxTotal: 3, clusters: [cluster('x', 2)] }),
    ]);
    expect(merged.clusters).toEqual([
      { cluster: 'a', cxActive: 5, cxTotal: 50, cxConnectFail: 1, cxProtocolError: 0, rqActive: 5, rqTotal: 500, rqRetry: 2, rqTimeout: 3 },
      { cluster: 'x', cxActive: 3, cxTotal: 30, cxConnectFail: 2, cxProtocolError: 0, rqActive: 3, rqTotal: 300, rqRetry: 4, rqTimeout: 6 },
    ]);
    expect(merged.workers).toEqual([
      { workerId: 0, downstreamCxActive: 1, downstreamCxTotal: 3, downstreamCxOverflow: 0, acceptPausedTotal: 0, tlsHandshakeTotal: 0, tlsHandshakeErrorTotal: 0, noFilterChainMatchTotal: 0, listenerFiltersTimeoutTotal: 0 },
      { workerId: 1, downstreamCxActive: 2, downstreamCxTotal: 7, downstreamCxOverflow: 4, acceptPausedTotal: 1, tlsHandshakeTotal: 0, tlsHandshakeErrorTotal: 0, noFilterChainMatchTotal: 0, listenerFiltersTimeoutTotal: 0 },
    ]);
  });

  it('does not alias the input bucket arrays', () => {
    const buckets = [1, 1];
    const input = worker(0, { requests: [{ cluster: 'c', listener: 'outbound', responseCode: 200, responseFlags: '-', count: 1, durationSumMs: 1, durationBuckets: buckets }] });
    mergeWorkerStats([input, input]);
    expect(buckets).toEqual([1, 1]);
  });
});
