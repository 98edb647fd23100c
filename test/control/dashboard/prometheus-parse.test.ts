// The dashboard's reader of the Prometheus text a sidecar serves: Istio's
// families as the proxy renders them, escapes, special values, and peer
// input that is malformed or too large, read within bounds.
import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../../control/dashboard/prometheus-parse.js';
import { bucketQuantile } from '../../../control/dashboard/mesh-figures.js';
import { renderPrometheusText } from '../../../src/stats/prometheus-text.js';

const NAMES = new Set(['istio_requests_total', 'istio_request_duration_milliseconds_bucket']);

describe('parsePrometheusText', () => {
  it('reads the families a sidecar renders, with every label and the value', () => {
    const text = renderPrometheusText({
      merged: {
        requests: [{ cluster: 'outbound|9080|v2|reviews.default.svc.cluster.local', responseCode: 503, responseFlags: 'UF', count: 7, durationBuckets: [1, 3, 7], durationSumMs: 40 }],
        clusters: [], workers: [],
      },
      identity: { serviceName: 'productpage', namespace: 'default' },
      agent: { configRejectedTotal: 0, configVersion: 1, workerRestartsTotal: 0 },
      durationBucketsMs: [1, 5, 10],
    } as unknown as Parameters<typeof renderPrometheusText>[0]);
    const r = parsePrometheusText(text, { names: NAMES, maxSeries: 100 });
    expect(r.malformed).toBe(0);
    const total = r.samples.find((s) => s.name === 'istio_requests_total')!;
    expect(total.value).toBe(7);
    expect(total.labels).toMatchObject({
      source_workload: 'productpage', destination_service_name: 'reviews', destination_version: 'v2', response_code: '503', connection_security_policy: 'unknown',
    });
    const buckets = r.samples.filter((s) => s.name === 'istio_request_duration_milliseconds_bucket').map((s) => [s.labels.le, s.value]);
    expect(buckets).toEqual([['1', 1], ['5', 3], ['10', 7], ['+Inf', 7]]);
    // Other families are skipped by name, never parsed.
    expect(r.samples.every((s) => NAMES.has(s.name))).toBe(true);
  });

  it('unescapes label values and reads special values and timestamps', () => {
    const text = [
      '# HELP x y', '# TYPE istio_requests_total counter',
      'istio_requests_total{a="q\\"uote",b="back\\\\slash",c="new\\nline",d=""} 3 1700000000000',
      'istio_requests_total{le="+Inf"} +Inf',
      'istio_requests_total NaN',
      'istio_requests_total{x="1"} 1.5e3',
    ].join('\n');
    const r = parsePrometheusText(text, { names: NAMES, maxSeries: 10 });
    expect(r.malformed).toBe(0);
    expect(r.samples[0]!.labels).toEqual({ a: 'q"uote', b: 'back\\slash', c: 'new\nline', d: '' });
    expect(r.samples[0]!.value).toBe(3);
    expect(r.samples[1]!.value).toBe(Number.POSITIVE_INFINITY);
    expect(r.samples[2]!.value).toBeNaN();
    expect(r.samples[3]!.value).toBe(1500);
    expect(r.samples[0]!.id).toBe('istio_requests_total{a="q\\"uote",b="back\\\\slash",c="new\\nline",d=""}');
  });

  it('skips and counts malformed lines of wanted families, and keeps going', () => {
    const text = [
      'istio_requests_total{a="unterminated} 1',
      'istio_requests_total{a=unquoted} 1',
      'istio_requests_total{1bad="x"} 1',
      'istio_requests_total{a="x"} not-a-number',
      'istio_requests_total{a="x"} 1 2 3',
      'istio_requests_total{a="ok"} 2',
      'other_family{{{{ garbage',
    ].join('\n');
    const r = parsePrometheusText(text, { names: NAMES, maxSeries: 10 });
    expect(r.malformed).toBe(5);
    expect(r.samples.map((s) => s.labels)).toEqual([{ a: 'ok' }]);
  });

  it('reads number forms and refuses a long run of digits that is not a number without a regex blow-up', () => {
    const text = ['1', '1.', '1.5', '.5', '-2e3', '+1.5E-2', '1e', '1.2.3', `${'1'.repeat(50_000)}x`].map((v) => `istio_requests_total{v="${v.slice(0, 8)}"} ${v}`).join('\n');
    const r = parsePrometheusText(text, { names: NAMES, maxSeries: 20 });
    expect(r.samples.map((s) => s.value)).toEqual([1, 1, 1.5, 0.5, -2000, 0.015]);
    expect(r.malformed).toBe(3);
  });

  it('keeps at most maxSeries samples and at most maxLabels labels per sample', () => {
    const many = Array.from({ length: 5000 }, (_, i) => `istio_requests_total{n="${i}"} ${i}`).join('\n');
    const r = parsePrometheusText(many, { names: NAMES, maxSeries: 100 });
    expect(r.samples.length).toBe(100);
    expect(r.truncated).toBe(4900);
    const wide = `istio_requests_total{${Array.from({ length: 40 }, (_, i) => `l${i}="v"`).join(',')}} 1`;
    expect(parsePrometheusText(wide, { names: NAMES, maxSeries: 10, maxLabels: 32 }).malformed).toBe(1);
  });

  it('refuses a line with a label value over maxLabelValueChars (plain or escaped), keeping the others', () => {
    const text = [
      `istio_requests_total{a="${'x'.repeat(1024)}"} 1`,
      `istio_requests_total{a="${'x'.repeat(1025)}"} 2`,
      `istio_requests_total{a="${'\\\\'.repeat(1025)}"} 3`,
    ].join('\n');
    const r = parsePrometheusText(text, { names: NAMES, maxSeries: 10 });
    expect(r.samples.map((s) => s.value)).toEqual([1]);
    expect(r.malformed).toBe(2);
    expect(parsePrometheusText(text, { names: NAMES, maxSeries: 10, maxLabelValueChars: 2000 }).samples.length).toBe(3);
  });

  it('reads a 4 MiB body of escape-heavy lines whole, keeping at most maxSeries', () => {
    const line = `istio_requests_total{a="${'\\\\'.repeat(1000)}"} 1\n`;
    const text = line.repeat(Math.floor((4 * 1024 * 1024) / line.length));
    const r = parsePrometheusText(text, { names: NAMES, maxSeries: 4000 });
    expect(r.samples.length).toBe(Math.min(4000, Math.floor((4 * 1024 * 1024) / line.length)));
    expect(r.samples[0]!.labels.a).toBe('\\'.repeat(1000));
  });
});

describe('bucketQuantile', () => {
  it('interpolates inside the bucket as histogram_quantile does', () => {
    const b = new Map([[1, 0], [5, 50], [10, 100], [Number.POSITIVE_INFINITY, 100]]);
    expect(bucketQuantile(0.5, b)).toBe(5);
    expect(bucketQuantile(0.99, b)).toBeCloseTo(9.9, 5);
    expect(bucketQuantile(0.25, b)).toBe(3);
  });

  it('answers the last finite bound past it, and null without requests', () => {
    expect(bucketQuantile(0.99, new Map([[10, 1], [Number.POSITIVE_INFINITY, 100]]))).toBe(10);
    expect(bucketQuantile(0.5, new Map([[10, 0], [Number.POSITIVE_INFINITY, 0]]))).toBeNull();
  });
});
