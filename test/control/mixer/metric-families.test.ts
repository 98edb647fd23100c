// Handlers' Prometheus texts joined into one valid exposition.
import { describe, expect, it } from 'vitest';
import { mergeMetricFamilies } from '../../../control/mixer/metric-families.js';

describe('mergeMetricFamilies', () => {
  it('writes a family shared by two handlers once, its samples together, histograms whole', () => {
    const a = '# HELP dropped_total Dropped.\n# TYPE dropped_total counter\ndropped_total{handler="a"} 1\n'
      + '# HELP latency Latency.\n# TYPE latency histogram\nlatency_bucket{le="1"} 2\nlatency_bucket{le="+Inf"} 3\nlatency_sum 4\nlatency_count 3\n';
    const b = '# HELP requests_total Requests.\n# TYPE requests_total counter\nrequests_total 7\n'
      + '# HELP dropped_total Dropped.\n# TYPE dropped_total counter\ndropped_total{handler="b"} 2\n';
    expect(mergeMetricFamilies([a, b])).toBe(
      '# HELP dropped_total Dropped.\n# TYPE dropped_total counter\ndropped_total{handler="a"} 1\ndropped_total{handler="b"} 2\n'
      + '# HELP latency Latency.\n# TYPE latency histogram\nlatency_bucket{le="1"} 2\nlatency_bucket{le="+Inf"} 3\nlatency_sum 4\nlatency_count 3\n'
      + '# HELP requests_total Requests.\n# TYPE requests_total counter\nrequests_total 7\n',
    );
  });

  it('keeps a family that is declared only once as it was, and nothing for empty input', () => {
    expect(mergeMetricFamilies(['x_total 1\n'])).toBe('x_total 1\n');
    expect(mergeMetricFamilies(['', '\n'])).toBe('');
  });
});
