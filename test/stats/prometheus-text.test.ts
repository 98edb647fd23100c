import { describe, expect, it } from 'vitest';
import { mergeWorkerStats } from '../../src/stats/merge-worker-stats.js';
import { destinationServiceOf, escapeLabelValue, renderPrometheusText } from '../../src/stats/prometheus-text.js';

const BUCKETS = [1, 10, 100];

function render(requests = [
  { cluster: 'reviews', listener: 'outbound', responseCode: 200, responseFlags: '-', count: 3, durationSumMs: 12.5, durationBuckets: [1, 2, 3] },
]) {
  const merged = mergeWorkerStats([
    {
      workerId: 0, downstreamCxActive: 1, downstreamCxTotal: 4, requests,
      clusters: [{ cluster: 'reviews', cxActive: 2, cxIdle: 0, cxTotal: 5, cxConnectFail: 1, cxProtocolError: 0, rqActive: 1, rqTotal: 9, rqRetry: 3, rqTimeout: 2 }],
    },
    { workerId: 1, downstreamCxActive: 0, downstreamCxTotal: 6, requests: [], clusters: [] },
  ]);
  return renderPrometheusText({
    merged,
    identity: { serviceName: 'productpage', namespace: 'shop' },
    agent: { configRejectedTotal: 1, configVersion: 7, workerRestartsTotal: 2 },
    durationBucketsMs: BUCKETS,
  });
}

/** Sample lines as "name{labels}" -> value. */
function samples(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), line.slice(space + 1));
  }
  return out;
}

const ISTIO_LABELS =
  'reporter="source",source_workload="productpage",source_workload_namespace="shop",source_principal="unknown",destination_service="reviews",' +
  'destination_service_name="reviews",destination_version="unknown",destination_principal="unknown",request_protocol="http",response_code="200",response_flags="-",grpc_response_status="",connection_security_policy="unknown"';

describe('renderPrometheusText', () => {
  it('declares every family with HELP and TYPE before its samples', () => {
    const text = render();
    const lines = text.split('\n');
    for (const [family, type] of [
      ['istio_requests_total', 'counter'],
      ['istio_request_duration_milliseconds', 'histogram'],
      ['envoy_cluster_upstream_cx_active', 'gauge'],
      ['envoy_cluster_upstream_rq_total', 'counter'],
      ['isthmus_worker_downstream_cx_active', 'gauge'],
      ['isthmus_config_rejected_total', 'counter'],
      ['isthmus_config_version', 'gauge'],
      ['isthmus_worker_restarts_total', 'counter'],
    ] as const) {
      const typeLine = lines.indexOf(`# TYPE ${family} ${type}`);
      expect(typeLine, family).toBeGreaterThan(0);
      expect(lines[typeLine - 1]).toMatch(new RegExp(`^# HELP ${family} .+`));
      expect(lines[typeLine + 1]?.startsWith(family) || lines[typeLine + 1]?.startsWith('# HELP'), family).toBe(true);
    }
    expect(text.endsWith('\n')).toBe(true);
  });

  it('renders istio_requests_total and the duration histogram with Istio label names', () => {
    const s = samples(render());
    expect(s.get(`istio_requests_total{${ISTIO_LABELS}}`)).toBe('3');
    expect(s.get(`istio_request_duration_milliseconds_bucket{${ISTIO_LABELS},le="1"}`)).toBe('1');
    expect(s.get(`istio_request_duration_milliseconds_bucket{${ISTIO_LABELS},le="10"}`)).toBe('2');
    expect(s.get(`istio_request_duration_milliseconds_bucket{${ISTIO_LABELS},le="100"}`)).toBe('3');
    expect(s.get(`istio_request_duration_milliseconds_bucket{${ISTIO_LABELS},le="+Inf"}`)).toBe('3');
    expect(s.get(`istio_request_duration_milliseconds_sum{${ISTIO_LABELS}}`)).toBe('12.5');
    expect(s.get(`istio_request_duration_milliseconds_count{${ISTIO_LABELS}}`)).toBe('3');
  });

  it('renders cluster gauges, per-worker connection counters and agent counters', () => {
    const s = samples(render());
    expect(s.get('envoy_cluster_upstream_cx_active{cluster_name="reviews"}')).toBe('2');
    expect(s.get('envoy_cluster_upstream_cx_total{cluster_name="reviews"}')).toBe('5');
    expect(s.get('envoy_cluster_upstream_cx_connect_fail{cluster_name="reviews"}')).toBe('1');
    expect(s.get('envoy_cluster_upstream_rq_active{cluster_name="reviews"}')).toBe('1');
    expect(s.get('envoy_cluster_upstream_rq_total{cluster_name="reviews"}')).toBe('9');
    expect(s.get('envoy_cluster_upstream_rq_retry{cluster_name="reviews"}')).toBe('3');
    expect(s.get('envoy_cluster_upstream_rq_timeout{cluster_name="reviews"}')).toBe('2');
    expect(s.get('isthmus_worker_downstream_cx_active{worker="0"}')).toBe('1');
    expect(s.get('isthmus_worker_downstream_cx_total{worker="1"}')).toBe('6');
    expect(s.get('isthmus_config_rejected_total')).toBe('1');
    expect(s.get('isthmus_config_version')).toBe('7');
    expect(s.get('isthmus_worker_restarts_total')).toBe('2');
  });

  it('escapes label values and names local replies with destination "unknown"', () => {
    const text = render([
      { cluster: 'we"ird\\name\nx', listener: 'outbound', responseCode: 503, responseFlags: 'UF,URX', count: 1, durationSumMs: 1, durationBuckets: [0, 1, 1] },
      { cluster: '', listener: 'outbound', responseCode: 404, responseFlags: 'NR', count: 2, durationSumMs: 0, durationBuckets: [2, 2, 2] },
    ]);
    expect(text).toContain('destination_service="we\\"ird\\\\name\\nx"');
    expect(text).toContain('response_flags="UF,URX"');
    expect(text).toMatch(/istio_requests_total\{[^}]*destination_service="unknown",destination_service_name="unknown",[^}]*response_code="404"[^}]*\} 2\n/);
    expect(text.split('\n').every((line) => !line.includes('\r'))).toBe(true);
  });

  it('escapes backslash, quote and newline', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });

  it('derives the destination service from Istio-style cluster names', () => {
    expect(destinationServiceOf('outbound|9080||reviews.default.svc.cluster.local')).toEqual({
      service: 'reviews.default.svc.cluster.local',
      name: 'reviews',
      version: 'unknown',
    });
    expect(destinationServiceOf('backend')).toEqual({ service: 'backend', name: 'backend', version: 'unknown' });
  });

  it('names the destination version after the subset of an Istio-named cluster', () => {
    expect(destinationServiceOf('outbound|9080|v2|reviews.default.svc.cluster.local')).toEqual({
      service: 'reviews.default.svc.cluster.local',
      name: 'reviews',
      version: 'v2',
    });
  });
});
