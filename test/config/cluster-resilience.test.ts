// Cluster resilience fields (circuit breakers, outlier detection, health
// checks, balancers, localities and priorities): parsed values, Envoy's
// defaults, and each problem with its file, line and path.
import { describe, expect, it } from 'vitest';
import { bootstrapText, lineOf, parseParts, problemLines } from './bootstrap-text.js';
import { CLUSTER_DEFAULTS } from '../support/bootstrap-defaults.js';

const PEAK_EWMA = 'type.googleapis.com/isthmus.extensions.load_balancing_policies.peak_ewma.v1.PeakEwma';
const RING_HASH_EXT = 'type.googleapis.com/envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash';
const C = 'static_resources.clusters[0]';

const clusterOf = (cluster: Record<string, unknown>) => parseParts({ cluster }).clusters[0]!;

function endpointGroup(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }], ...extra };
}

describe('cluster: defaults', () => {
  it("gives a cluster without resilience fields Envoy's defaults, the ones test fixtures build on", () => {
    const { name, type, dns, connectTimeoutMs, endpoints, tls, upstreamProtocol, upstreamHttp2, ...resilience } = clusterOf({});
    expect(dns).toBeNull();
    expect(upstreamProtocol).toBe('HTTP1');
    expect(upstreamHttp2).toBeDefined();
    expect(connectTimeoutMs).toBe(5_000);
    expect(tls).toBeNull();
    expect(resilience).toEqual({
      lbPolicy: 'ROUND_ROBIN',
      ringHash: { minRingSize: 1024, maxRingSize: 8_388_608 },
      maglevTableSize: 65_537,
      peakEwmaDecayMs: 10_000,
      circuitBreakers: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, retryBudget: null },
      outlierDetection: null,
      healthCheck: null,
      healthyPanicThresholdPercent: 50,
      localityWeighted: false,
      overprovisioningFactor: 140,
      upstreamIdleTimeoutMs: 3_600_000,
      maxRequestsPerConnection: 0,
    });
    expect({ ...resilience, tls, upstreamProtocol, upstreamHttp2 }).toEqual(CLUSTER_DEFAULTS);
  });
});

describe('cluster: circuit breakers', () => {
  it("fills Envoy's defaults per field when a threshold leaves some out", () => {
    expect(clusterOf({ circuit_breakers: { thresholds: [{ max_requests: 10 }] } }).circuitBreakers).toEqual({
      maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 10, maxRetries: 3, retryBudget: null,
    });
  });

  it('reads every limit and a retry budget; HIGH priority is checked but ignored', () => {
    const cluster = clusterOf({
      circuit_breakers: {
        thresholds: [
          { priority: 'HIGH', max_connections: 1 },
          {
            priority: 'DEFAULT', max_connections: 5, max_pending_requests: 6, max_requests: 7, max_retries: 8, track_remaining: true,
            retry_budget: { budget_percent: { value: 25.5 }, min_retry_concurrency: 2 },
          },
        ],
      },
    });
    expect(cluster.circuitBreakers).toEqual({
      maxConnections: 5, maxPendingRequests: 6, maxRequests: 7, maxRetries: 8, retryBudget: { budgetPercent: 25.5, minRetryConcurrency: 2 },
    });
    const defaults = clusterOf({ circuit_breakers: { thresholds: [{ retry_budget: {} }] } });
    expect(defaults.circuitBreakers.retryBudget).toEqual({ budgetPercent: 20, minRetryConcurrency: 3 });
  });

  it('reports bad limits, a bad percent, an unknown priority and a repeated priority', () => {
    const parts = {
      cluster: {
        circuit_breakers: {
          thresholds: [
            { max_connections: -1, retry_budget: { budget_percent: { value: 120 } } },
            { priority: 'LOW' },
            { max_connection_pools: 3 },
          ],
        },
      },
    };
    const text = bootstrapText(parts);
    const t = `${C}.circuit_breakers.thresholds`;
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, 'max_connections: -1')}: ${t}[0].max_connections must be between 0 and 4294967295`,
      `b.yaml:${lineOf(text, 'value: 120')}: ${t}[0].retry_budget.budget_percent.value must be between 0 and 100`,
      `b.yaml:${lineOf(text, 'priority: LOW')}: ${t}[1].priority must be one of DEFAULT, HIGH`,
      `b.yaml:${lineOf(text, 'max_connection_pools')}: ${t}[2].max_connection_pools is not supported`,
    ]);
    const twice = { cluster: { circuit_breakers: { thresholds: [{ max_requests: 1 }, { priority: 'DEFAULT' }] } } };
    expect(problemLines(twice)).toEqual([
      `b.yaml:${lineOf(bootstrapText(twice), 'priority: DEFAULT')}: ${t}[1] repeats priority DEFAULT; give each priority one thresholds entry`,
    ]);
  });
});

describe('cluster: outlier detection', () => {
  it("is null when absent and Envoy's defaults when empty", () => {
    expect(clusterOf({}).outlierDetection).toBeNull();
    expect(clusterOf({ outlier_detection: {} }).outlierDetection).toEqual({
      consecutive5xx: 5, consecutiveGatewayFailure: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 10, enforcingConsecutive5xx: 100, enforcingConsecutiveGatewayFailure: 0, enforcingSuccessRate: 100,
      successRateMinimumHosts: 5, successRateRequestVolume: 100, successRateStdevFactor: 1900,
    });
  });

  it('reads every field, and the fields Istio writes (split_external_local_origin_errors false)', () => {
    const od = clusterOf({
      outlier_detection: {
        consecutive_5xx: 3, consecutive_gateway_failure: 2, interval: '1s', base_ejection_time: '0.5s', max_ejection_time: '60s',
        max_ejection_percent: 50, enforcing_consecutive_5xx: 90, enforcing_consecutive_gateway_failure: 100, enforcing_success_rate: 0,
        success_rate_minimum_hosts: 3, success_rate_request_volume: 20, success_rate_stdev_factor: 1000,
        split_external_local_origin_errors: false,
      },
    }).outlierDetection;
    expect(od).toEqual({
      consecutive5xx: 3, consecutiveGatewayFailure: 2, intervalMs: 1000, baseEjectionTimeMs: 500, maxEjectionTimeMs: 60_000,
      maxEjectionPercent: 50, enforcingConsecutive5xx: 90, enforcingConsecutiveGatewayFailure: 100, enforcingSuccessRate: 0,
      successRateMinimumHosts: 3, successRateRequestVolume: 20, successRateStdevFactor: 1000,
    });
  });

  it('max_ejection_time defaults to the larger of 300 s and base_ejection_time', () => {
    expect(clusterOf({ outlier_detection: { base_ejection_time: '400s' } }).outlierDetection!.maxEjectionTimeMs).toBe(400_000);
  });

  it('reports ranges, a zero interval, max below base, local-origin splitting and unmodelled detectors', () => {
    const parts = {
      cluster: {
        outlier_detection: {
          interval: '0s', max_ejection_percent: 101, enforcing_success_rate: 200, base_ejection_time: '10s', max_ejection_time: '5s',
          split_external_local_origin_errors: true, failure_percentage_threshold: 85,
        },
      },
    };
    const text = bootstrapText(parts);
    const o = `${C}.outlier_detection`;
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, 'interval: 0s')}: ${o}.interval must be greater than 0`,
      `b.yaml:${lineOf(text, 'max_ejection_percent')}: ${o}.max_ejection_percent must be between 0 and 100`,
      `b.yaml:${lineOf(text, 'enforcing_success_rate')}: ${o}.enforcing_success_rate must be between 0 and 100`,
      `b.yaml:${lineOf(text, 'split_external')}: ${o}.split_external_local_origin_errors is not supported (local-origin errors are counted with the 5xx responses); remove it or set it false`,
      `b.yaml:${lineOf(text, 'failure_percentage_threshold')}: ${o}.failure_percentage_threshold is not supported`,
    ]);
    const below = { cluster: { outlier_detection: { base_ejection_time: '10s', max_ejection_time: '5s' } } };
    expect(problemLines(below)).toEqual([
      `b.yaml:${lineOf(bootstrapText(below), 'max_ejection_time')}: ${o}.max_ejection_time must not be less than base_ejection_time`,
    ]);
  });
});

describe('cluster: health checks', () => {
  const check = {
    timeout: '1s', interval: '2s', interval_jitter: '0.1s', unhealthy_threshold: 2, healthy_threshold: 1,
    http_health_check: { path: '/healthz', host: 'health.local', expected_statuses: [{ start: 200, end: 300 }, { start: 404, end: 405 }] },
  };

  it('reads one HTTP check; defaults for jitter, host and expected statuses', () => {
    expect(clusterOf({}).healthCheck).toBeNull();
    expect(clusterOf({ health_checks: [check] }).healthCheck).toEqual({
      timeoutMs: 1000, intervalMs: 2000, intervalJitterMs: 100, unhealthyThreshold: 2, healthyThreshold: 1,
      http: { path: '/healthz', host: 'health.local', expectedStatuses: [[200, 300], [404, 405]] },
    });
    const minimal = { timeout: '1s', interval: '2s', unhealthy_threshold: 3, healthy_threshold: 2, http_health_check: { path: '/' } };
    expect(clusterOf({ health_checks: [minimal] }).healthCheck).toEqual({
      timeoutMs: 1000, intervalMs: 2000, intervalJitterMs: 0, unhealthyThreshold: 3, healthyThreshold: 2,
      http: { path: '/', host: null, expectedStatuses: [[200, 201]] },
    });
  });

  it('reports two checks, a TCP check, missing required fields and a bad status range', () => {
    const two = { cluster: { health_checks: [check, structuredClone(check)] } };
    expect(problemLines(two)).toEqual([
      `b.yaml:${lineOf(bootstrapText(two), '- timeout')}: ${C}.health_checks lists 2 health checks; at most one is supported`,
    ]);
    const parts = {
      cluster: {
        health_checks: [{ interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }],
      },
    };
    const text = bootstrapText(parts);
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, '- interval')}: ${C}.health_checks[0].timeout is required`,
      `b.yaml:${lineOf(text, 'tcp_health_check')}: ${C}.health_checks[0].tcp_health_check is not supported (only http_health_check)`,
    ]);
    const range = { cluster: { health_checks: [{ ...check, http_health_check: { path: '/', expected_statuses: [{ start: 300, end: 200 }] } }] } };
    expect(problemLines(range)).toEqual([
      `b.yaml:${lineOf(bootstrapText(range), 'end: 200')}: ${C}.health_checks[0].http_health_check.expected_statuses[0].end must be greater than start (300); the range is [start, end)`,
    ]);
  });
});

describe('cluster: load balancing', () => {
  it('reads RING_HASH and MAGLEV with their configs', () => {
    const ring = clusterOf({ lb_policy: 'RING_HASH', ring_hash_lb_config: { minimum_ring_size: 64, maximum_ring_size: 4096, hash_function: 'XX_HASH' } });
    expect(ring).toMatchObject({ lbPolicy: 'RING_HASH', ringHash: { minRingSize: 64, maxRingSize: 4096 } });
    const maglev = clusterOf({ lb_policy: 'MAGLEV', maglev_lb_config: { table_size: 65_521 } });
    expect(maglev).toMatchObject({ lbPolicy: 'MAGLEV', maglevTableSize: 65_521 });
    expect(clusterOf({ lb_policy: 'LEAST_REQUEST' }).lbPolicy).toBe('LEAST_REQUEST');
  });

  it('selects peak-EWMA (and Envoy extension types) through load_balancing_policy, skipping unknown types', () => {
    const ewma = clusterOf({
      load_balancing_policy: { policies: [
        { typed_extension_config: { name: 'other', typed_config: { '@type': 'type.googleapis.com/x.Unknown' } } },
        { typed_extension_config: { name: 'isthmus.peak_ewma', typed_config: { '@type': PEAK_EWMA, decay: '5s' } } },
      ] },
    });
    expect(ewma).toMatchObject({ lbPolicy: 'PEAK_EWMA', peakEwmaDecayMs: 5000 });
    const defaultDecay = clusterOf({ load_balancing_policy: { policies: [{ typed_extension_config: { name: 'p', typed_config: { '@type': PEAK_EWMA } } }] } });
    expect(defaultDecay.peakEwmaDecayMs).toBe(10_000);
    const ring = clusterOf({
      load_balancing_policy: { policies: [{ typed_extension_config: { name: 'r', typed_config: { '@type': RING_HASH_EXT, minimum_ring_size: 128 } } }] },
    });
    expect(ring).toMatchObject({ lbPolicy: 'RING_HASH', ringHash: { minRingSize: 128, maxRingSize: 8_388_608 } });
  });

  it('reports a non-prime table, ring bounds, MURMUR_HASH_2, no known policy and common_lb_config fields', () => {
    const parts = {
      cluster: {
        lb_policy: 'RING_HASH',
        ring_hash_lb_config: { minimum_ring_size: 2048, maximum_ring_size: 1024, hash_function: 'MURMUR_HASH_2' },
        maglev_lb_config: { table_size: 65_536 },
        common_lb_config: { healthy_panic_threshold: { value: 30 }, zone_aware_lb_config: {} },
      },
    };
    const text = bootstrapText(parts);
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, 'hash_function')}: ${C}.ring_hash_lb_config.hash_function MURMUR_HASH_2 is not supported (only XX_HASH)`,
      `b.yaml:${lineOf(text, 'table_size')}: ${C}.maglev_lb_config.table_size must be a prime number (got 65536; Envoy's default is 65537)`,
      `b.yaml:${lineOf(text, 'zone_aware_lb_config')}: ${C}.common_lb_config.zone_aware_lb_config is not supported`,
    ]);
    const bounds = { cluster: { ring_hash_lb_config: { minimum_ring_size: 2048, maximum_ring_size: 1024 } } };
    expect(problemLines(bounds)).toEqual([
      `b.yaml:${lineOf(bootstrapText(bounds), 'maximum_ring_size')}: ${C}.ring_hash_lb_config.maximum_ring_size must not be less than minimum_ring_size (2048)`,
    ]);
    const unknown = { cluster: { load_balancing_policy: { policies: [{ typed_extension_config: { name: 'x', typed_config: { '@type': 'type.googleapis.com/x.Y' } } }] } } };
    expect(problemLines(unknown)[0]).toMatch(
      new RegExp(`^b\\.yaml:${lineOf(bootstrapText(unknown), '- typed_extension_config')}: ${C.replace(/[[\].]/g, '\\$&')}\\.load_balancing_policy\\.policies names no load balancing policy this proxy implements \\(got type\\.googleapis\\.com/x\\.Y; supported: .*PeakEwma\\)$`),
    );
    const badDecay = { cluster: { load_balancing_policy: { policies: [{ typed_extension_config: { name: 'p', typed_config: { '@type': PEAK_EWMA, decay: '0s' } } }] } } };
    expect(problemLines(badDecay)).toEqual([
      `b.yaml:${lineOf(bootstrapText(badDecay), 'decay')}: cluster "a" › load_balancing_policy.policies[0].typed_extension_config.typed_config.decay must be greater than 0`,
    ]);
  });

  it('reads the panic threshold (default 50)', () => {
    expect(clusterOf({ common_lb_config: { healthy_panic_threshold: { value: 0 } } }).healthyPanicThresholdPercent).toBe(0);
    expect(clusterOf({ common_lb_config: {} }).healthyPanicThresholdPercent).toBe(50);
    expect(clusterOf({ common_lb_config: {} }).localityWeighted).toBe(false);
    expect(clusterOf({ common_lb_config: { locality_weighted_lb_config: {} } }).localityWeighted).toBe(true);
  });
});

describe('cluster: localities, priorities, overprovisioning', () => {
  it('gives each endpoint its group locality and priority', () => {
    const cluster = clusterOf({
      load_assignment: {
        cluster_name: 'a',
        policy: { overprovisioning_factor: 200 },
        endpoints: [
          endpointGroup(9001, { locality: { region: 'eu', zone: 'eu-1', sub_zone: 'rack-a' }, load_balancing_weight: 3 }),
          endpointGroup(9002, { locality: { region: 'us' }, priority: 1 }),
        ],
      },
    });
    expect(cluster.overprovisioningFactor).toBe(200);
    expect(cluster.endpoints).toEqual([
      { address: '127.0.0.1', port: 9001, weight: 1, locality: { region: 'eu', zone: 'eu-1', subZone: 'rack-a' }, priority: 0, localityWeight: 3 },
      { address: '127.0.0.1', port: 9002, weight: 1, locality: { region: 'us', zone: '', subZone: '' }, priority: 1 },
    ]);
    expect(clusterOf({}).overprovisioningFactor).toBe(140);
  });

  it('reports a gap in priorities, a priority above 128 and unmodelled policy fields', () => {
    const gap = { cluster: { load_assignment: { cluster_name: 'a', endpoints: [endpointGroup(9001), endpointGroup(9002, { priority: 2 })] } } };
    expect(problemLines(gap)).toEqual([
      `b.yaml:${lineOf(bootstrapText(gap), 'priority: 2')}: ${C}.load_assignment.endpoints[1].priority is 2, but priority 1 has no endpoints group; priorities must be contiguous from 0`,
    ]);
    const parts = {
      cluster: { load_assignment: { cluster_name: 'a', policy: { drop_overloads: [] }, endpoints: [endpointGroup(9001, { priority: 129 })] } },
    };
    const text = bootstrapText(parts);
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, 'drop_overloads')}: ${C}.load_assignment.policy.drop_overloads is not supported`,
      `b.yaml:${lineOf(text, 'priority: 129')}: ${C}.load_assignment.endpoints[0].priority must be between 0 and 128`,
    ]);
  });
});
