// The prometheus adapter through its handler: metric instances reported, the
// text it exposes parsed back as Prometheus reads it (escaping included),
// histogram buckets of each definition, and the bound on series.
import { describe, expect, it } from 'vitest';
import type { AdapterHandler } from '../../../../control/mixer/adapter.js';
import { adapterByName } from '../../../../control/mixer/adapter-registry.js';
import { createPrometheusHandler, MAX_LABEL_VALUE_LENGTH } from '../../../../control/mixer/adapters/prometheus.js';
import type { PrometheusParams } from '../../../../control/mixer/adapters/prometheus-params.js';
import { instance, testContext } from './handler-context.js';

const prometheus = adapterByName('prometheus')!;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parser for the Prometheus text format (the subset exposition uses): comments, names, escaped label values. */
function parseText(text: string): { samples: Sample[]; types: Record<string, string>; help: Record<string, string> } {
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  const help: Record<string, string> = {};
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) {
      expect(types[m[1]], `TYPE ${m[1]} given once`).toBeUndefined();
      types[m[1]] = m[2];
      continue;
    }
    m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) {
      help[m[1]] = m[2].replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;
    const body = m[2] ?? '';
    while (labelRe.lastIndex < body.length) {
      const l = labelRe.exec(body);
      if (!l) throw new Error(`bad labels: ${body}`);
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1], labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return { samples, types, help };
}

function find(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;
}

function handlerFor(params: unknown, now?: () => number): AdapterHandler {
  const parsed = prometheus.parseParams(params) as PrometheusParams;
  return now === undefined ? prometheus.createHandler(parsed, testContext('promhandler.istio-system')) : createPrometheusHandler(parsed, testContext('promhandler.istio-system'), now);
}

const METRICS = {
  metrics: [
    { name: 'requests_total', instance_name: 'requestcount.istio-system', kind: 'COUNTER', label_names: ['destination_service', 'response_code'], description: 'Requests\nby code' },
    { name: 'request_duration_seconds', instance_name: 'requestduration.istio-system', kind: 'DISTRIBUTION', label_names: ['destination_service'], buckets: { explicit_buckets: { bounds: [0.01, 0.1, 1] } } },
    { name: 'request_bytes', instance_name: 'requestsize.istio-system', kind: 'DISTRIBUTION', label_names: [], buckets: { exponentialBuckets: { numFiniteBuckets: 3, scale: 1, growthFactor: 10 } } },
    { name: 'linear', instance_name: 'lin.istio-system', kind: 'DISTRIBUTION', buckets: { linearBuckets: { numFiniteBuckets: 2, width: 5, offset: 1 } } },
    { namespace: '', name: 'inflight', instance_name: 'inflight.istio-system', kind: 'GAUGE', label_names: ['pod'] },
  ],
};

describe('prometheus adapter', () => {
  it('exposes counters, gauges and histograms that parse back with the reported values', async () => {
    const handler = handlerFor(METRICS);
    const svc = 'reviews.default.svc.cluster.local';
    await handler.report!([
      instance('requestcount.istio-system', 'metric', { value: 1, dimensions: { destination_service: svc, response_code: 200 } }),
      instance('requestcount.istio-system', 'metric', { value: 1, dimensions: { destination_service: svc, response_code: 200 } }),
      instance('requestcount.istio-system', 'metric', { value: 1, dimensions: { destination_service: svc, response_code: 503 } }),
      instance('requestduration.istio-system', 'metric', { value: 50, dimensions: { destination_service: svc } }, { value: 'DURATION' }),
      instance('requestduration.istio-system', 'metric', { value: 2500, dimensions: { destination_service: svc } }, { value: 'DURATION' }),
      instance('requestsize.istio-system', 'metric', { value: 7, dimensions: {} }),
      instance('lin.istio-system', 'metric', { value: 6, dimensions: {} }),
      instance('inflight.istio-system', 'metric', { value: 4, dimensions: { pod: 'a' } }),
      instance('inflight.istio-system', 'metric', { value: 2, dimensions: { pod: 'a' } }),
      instance('unrelated.istio-system', 'metric', { value: 9, dimensions: {} }),
    ]);
    const { samples, types, help } = parseText(handler.metricsText!());
    expect(types).toMatchObject({ istio_requests_total: 'counter', istio_request_duration_seconds: 'histogram', inflight: 'gauge' });
    expect(help.istio_requests_total).toBe('Requests\nby code');
    expect(find(samples, 'istio_requests_total', { destination_service: svc, response_code: '200' })).toBe(2);
    expect(find(samples, 'istio_requests_total', { destination_service: svc, response_code: '503' })).toBe(1);
    expect(find(samples, 'inflight', { pod: 'a' })).toBe(2);
    // durations arrive in ms and are exposed in seconds: 0.05 and 2.5
    const d = (le: string) => find(samples, 'istio_request_duration_seconds_bucket', { destination_service: svc, le });
    expect([d('0.01'), d('0.1'), d('1'), d('+Inf')]).toEqual([0, 1, 1, 2]);
    expect(find(samples, 'istio_request_duration_seconds_sum', { destination_service: svc })).toBeCloseTo(2.55);
    expect(find(samples, 'istio_request_duration_seconds_count', { destination_service: svc })).toBe(2);
    // exponential: 1, 10, 100, 1000; linear: 1, 6, 11
    expect(['1', '10', '100', '1000', '+Inf'].map((le) => find(samples, 'istio_request_bytes_bucket', { le }))).toEqual([0, 1, 1, 1, 1]);
    expect(['1', '6', '11', '+Inf'].map((le) => find(samples, 'istio_linear_bucket', { le }))).toEqual([0, 1, 1, 1]);
    expect(find(samples, 'isthmus_mixer_prometheus_dropped_series_total', { handler: 'promhandler.istio-system' })).toBe(0);
  });

  it('escapes label values so a hostile value cannot forge a sample', async () => {
    const handler = handlerFor(METRICS);
    const evil = 'x"} 1e9\nistio_requests_total{destination_service="y\\';
    await handler.report!([instance('requestcount.istio-system', 'metric', { value: 1, dimensions: { destination_service: evil, response_code: 200 } })]);
    const { samples } = parseText(handler.metricsText!());
    const counted = samples.filter((s) => s.name === 'istio_requests_total');
    expect(counted).toHaveLength(1);
    expect(counted[0]).toEqual({ name: 'istio_requests_total', labels: { destination_service: evil, response_code: '200' }, value: 1 });
  });

  it('cuts label values at MAX_LABEL_VALUE_LENGTH', async () => {
    const handler = handlerFor(METRICS);
    await handler.report!([instance('inflight.istio-system', 'metric', { value: 1, dimensions: { pod: 'p'.repeat(5000) } })]);
    const { samples } = parseText(handler.metricsText!());
    expect(samples.find((s) => s.name === 'inflight')!.labels.pod).toBe('p'.repeat(MAX_LABEL_VALUE_LENGTH));
  });

  it('keeps at most maxSeries series and counts the dropped ones; expired series make room', async () => {
    let t = 0;
    const handler = handlerFor({ ...METRICS, maxSeries: 5, metricsExpirationPolicy: { metricsExpiryDuration: '10s' } }, () => t);
    const report = (pod: string) => handler.report!([instance('inflight.istio-system', 'metric', { value: 1, dimensions: { pod } })]);
    for (let i = 0; i < 8; i++) await report(`pod-${i}`);
    let parsed = parseText(handler.metricsText!());
    expect(parsed.samples.filter((s) => s.name === 'inflight')).toHaveLength(5);
    expect(find(parsed.samples, 'isthmus_mixer_prometheus_dropped_series_total', { handler: 'promhandler.istio-system' })).toBe(3);
    t = 11_000;
    await report('pod-new');
    parsed = parseText(handler.metricsText!());
    expect(parsed.samples.filter((s) => s.name === 'inflight').map((s) => s.labels.pod)).toEqual(['pod-new']);
  });
});
