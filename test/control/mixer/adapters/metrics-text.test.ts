// Several handlers' metricsText joined for /metrics: each family once, its
// samples together, histogram parts kept with their family.
import { describe, expect, it } from 'vitest';
import { adapterByName } from '../../../../control/mixer/adapter-registry.js';
import { mergeMetricsTexts } from '../../../../control/mixer/adapters/metrics-text.js';
import { instance, testContext } from './handler-context.js';

describe('mergeMetricsTexts', () => {
  it('gives each family one HELP and TYPE, with all its samples together', async () => {
    const prometheus = adapterByName('prometheus')!;
    const params = prometheus.parseParams({
      metrics: [
        { name: 'requests_total', instance_name: 'rc.default', kind: 'COUNTER', label_names: ['code'] },
        { name: 'latency', instance_name: 'lat.default', kind: 'DISTRIBUTION', buckets: { explicitBuckets: { bounds: [1] } } },
      ],
    });
    const a = prometheus.createHandler(params, testContext('a.default'));
    const b = prometheus.createHandler(params, testContext('b.default'));
    await a.report!([instance('rc.default', 'metric', { value: 1, dimensions: { code: 200 } }), instance('lat.default', 'metric', { value: 0.5, dimensions: {} })]);
    await b.report!([instance('rc.default', 'metric', { value: 1, dimensions: { code: 500 } }), instance('lat.default', 'metric', { value: 2, dimensions: {} })]);
    const text = mergeMetricsTexts([a.metricsText!(), b.metricsText!()]);
    const lines = text.trim().split('\n');
    for (const family of ['istio_requests_total', 'istio_latency', 'isthmus_mixer_prometheus_dropped_series_total']) {
      expect(lines.filter((l) => l.startsWith(`# TYPE ${family} `)), family).toHaveLength(1);
      expect(lines.filter((l) => l.startsWith(`# HELP ${family} `)), family).toHaveLength(1);
    }
    // each family's lines are contiguous, right after its TYPE
    const start = lines.indexOf('# TYPE istio_requests_total counter');
    expect(lines.slice(start + 1, start + 3)).toEqual(['istio_requests_total{code="200"} 1', 'istio_requests_total{code="500"} 1']);
    const h = lines.indexOf('# TYPE istio_latency histogram');
    expect(lines.slice(h + 1, h + 9).every((l) => l.startsWith('istio_latency_'))).toBe(true);
    expect(lines.filter((l) => l.startsWith('isthmus_mixer_prometheus_dropped_series_total{'))).toEqual([
      'isthmus_mixer_prometheus_dropped_series_total{handler="a.default"} 0',
      'isthmus_mixer_prometheus_dropped_series_total{handler="b.default"} 0',
    ]);
  });
});
