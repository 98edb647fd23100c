// envoy.filters.http.local_ratelimit config: the parsed LocalRateLimit with
// Envoy's defaults (0% enabled and enforced, 429, tokens_per_fill 1), per-route
// overrides, and the problems for what this proxy does not do.
import { describe, expect, it } from 'vitest';
import { parseParts, problemLines } from './bootstrap-text.js';

const RL = 'envoy.filters.http.local_ratelimit';
const RL_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const ROUTER = { name: 'envoy.filters.http.router' };

describe('local_ratelimit config', () => {
  it('reads a LocalRateLimit with Envoy defaults', () => {
    const b = parseParts({
      httpFilters: [{ name: RL, typed_config: { '@type': RL_TYPE, stat_prefix: 'rl', token_bucket: { max_tokens: 5, fill_interval: '2s' } } }, ROUTER],
    });
    expect(b.listeners[0]!.httpFilters.localRateLimit).toEqual({
      statPrefix: 'rl', tokenBucket: { maxTokens: 5, tokensPerFill: 1, fillIntervalMs: 2000 },
      enabled: 0, enforced: 0, responseHeadersToAdd: [], requestHeadersToAddWhenNotEnforced: [], status: 429, xRateLimitHeaders: false,
      descriptors: [], alwaysConsumeDefault: true, runtimeKeys: [],
    });
    expect(b.listeners[0]!.httpFilters.order).toEqual([RL]);
  });

  it('reports a short fill_interval, a missing max_tokens, a descriptor without entries and a per-connection bucket, naming each field', () => {
    const lines = problemLines({
      httpFilters: [{
        name: RL,
        typed_config: {
          '@type': RL_TYPE, stat_prefix: 'rl', token_bucket: { fill_interval: '0.01s' },
          descriptors: [{ entries: [], token_bucket: { max_tokens: 1, fill_interval: '1s' } }],
          local_rate_limit_per_downstream_connection: true,
        },
      }, ROUTER],
    }).join('\n');
    expect(lines).toMatch(/token_bucket\.max_tokens is required/);
    expect(lines).toMatch(/token_bucket\.fill_interval must be at least 50ms/);
    expect(lines).toMatch(/descriptors\[0\]\.entries needs at least one entry/);
    expect(lines).toMatch(/local_rate_limit_per_downstream_connection is not supported/);
  });
});
