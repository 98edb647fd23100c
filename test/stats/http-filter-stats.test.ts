// The fault and CORS counters summed over workers and rendered with Envoy's
// Prometheus names (the stat prefix as envoy_http_conn_manager_prefix).
import { describe, expect, it } from 'vitest';
import { mergeHttpFilterStats, type HttpFilterCounters } from '../../src/stats/http-filter-stats.js';
import { mergeWorkerStats } from '../../src/stats/merge-worker-stats.js';
import { renderPrometheusText } from '../../src/stats/prometheus-text.js';

function counters(statPrefix: string, n: number): HttpFilterCounters {
  return { statPrefix, delaysInjected: n, abortsInjected: 2 * n, activeFaults: 1, faultsOverflow: 0, corsOriginValid: 3 * n, corsOriginInvalid: n, rbacAllowed: n, rbacDenied: 0, rbacShadowAllowed: 0, rbacShadowDenied: 0, extAuthzOk: n, extAuthzDenied: 0, extAuthzError: 0, extAuthzFailureModeAllowed: 0 };
}

function render(perWorker: (readonly HttpFilterCounters[] | undefined)[]): string {
  const merged = mergeWorkerStats(
    perWorker.map((httpFilters, workerId) => ({ workerId, downstreamCxActive: 0, downstreamCxTotal: 0, requests: [], clusters: [], httpFilters })),
  );
  return renderPrometheusText({
    merged,
    identity: { serviceName: 's', namespace: 'n' },
    agent: { configRejectedTotal: 0, configVersion: 1, workerRestartsTotal: 0 },
    durationBucketsMs: [1],
  });
}

describe('http filter stats', () => {
  it('sums per stat prefix over workers, sorted by prefix', () => {
    expect(mergeHttpFilterStats([[counters('outbound', 1), counters('inbound', 5)], undefined, [counters('outbound', 2)]])).toEqual([
      counters('inbound', 5),
      { statPrefix: 'outbound', delaysInjected: 3, abortsInjected: 6, activeFaults: 2, faultsOverflow: 0, corsOriginValid: 9, corsOriginInvalid: 3, rbacAllowed: 3, rbacDenied: 0, rbacShadowAllowed: 0, rbacShadowDenied: 0, extAuthzOk: 3, extAuthzDenied: 0, extAuthzError: 0, extAuthzFailureModeAllowed: 0 },
    ]);
  });

  it('renders envoy_http_fault_* and envoy_http_cors_* with the connection manager prefix label', () => {
    const text = render([[counters('outbound', 1)], [counters('outbound', 2)]]);
    expect(text).toContain('# TYPE envoy_http_fault_aborts_injected counter\n');
    expect(text).toContain('# TYPE envoy_http_fault_active_faults gauge\n');
    expect(text).toContain('envoy_http_fault_delays_injected{envoy_http_conn_manager_prefix="outbound"} 3\n');
    expect(text).toContain('envoy_http_fault_aborts_injected{envoy_http_conn_manager_prefix="outbound"} 6\n');
    expect(text).toContain('envoy_http_fault_active_faults{envoy_http_conn_manager_prefix="outbound"} 2\n');
    expect(text).toContain('envoy_http_cors_origin_valid{envoy_http_conn_manager_prefix="outbound"} 9\n');
    expect(text).toContain('envoy_http_cors_origin_invalid{envoy_http_conn_manager_prefix="outbound"} 3\n');
  });

  it('renders no filter families when no listener runs a filter', () => {
    expect(render([undefined, []])).not.toContain('envoy_http_fault');
  });
});
