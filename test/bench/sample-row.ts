// A RunSample with defaults, for the bench's unit tests.
import type { RunSample } from '../../bench/result-row.js';

export function sample(overrides: Partial<RunSample>): RunSample {
  return {
    scenario: 'proxy',
    target: 'isthmus',
    label: overrides.label ?? (overrides.target === undefined || overrides.target === 'isthmus' ? 'isthmus 1w' : overrides.target),
    mode: 'max',
    client: 'isthmus-bench',
    connections: 50,
    rate: null,
    rps: 1000,
    p50_ms: 1,
    p90_ms: 2,
    p99_ms: 3,
    p999_ms: 4,
    max_ms: 5,
    errors: 0,
    cpu_s_per_1k: 0.03,
    peak_rss_mb: 60,
    upstream_cpu_s_per_1k: 0.01,
    client_threads: 1,
    histogram: null,
    ...overrides,
  };
}
