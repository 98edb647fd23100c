// A local rate limit config compiled for one place in a listener's routes
// (the listener's filter config, a virtual host's or a route's override): its
// bucket and counters opened in the proxy's shared rate limit table, so every
// worker that compiles the same config version uses the same ones.
import type { LocalRateLimitConfig } from '../../../src/config/local-rate-limit-config.js';
import type { HttpFilterStats } from '../../http-filter-stats.js';
import { SharedTokenBucket } from '../../shared-state/rate-limit-buckets.js';
import { LocalRateLimitFactory, type RateLimitCounters } from './local-ratelimit-filter.js';

/** Takes a config and its place's key; returns the filter factory, or null when it can never act (0% enabled, no bucket). */
export function localRateLimitFactory(config: LocalRateLimitConfig, key: string, stats: HttpFilterStats, random: () => number): LocalRateLimitFactory | null {
  const tb = config.tokenBucket;
  if ((tb === null && config.descriptors.length === 0) || config.enabled <= 0) return null;
  const table = stats.rateLimitTable;
  const full = (): void => stats.warnRateLimitTableFull();
  const bucket = tb === null ? null : SharedTokenBucket.open(table, key, tb.maxTokens, tb.tokensPerFill, tb.fillIntervalMs, full);
  const descriptors = config.descriptors.map((d, i) => ({
    entries: d.entries,
    bucket: SharedTokenBucket.open(table, `${key}\u0000descriptor:${i}`, d.tokenBucket.maxTokens, d.tokenBucket.tokensPerFill, d.tokenBucket.fillIntervalMs, full),
  }));
  let counters: RateLimitCounters = { ints: new Int32Array(8), base: 0 };
  if (table !== null) {
    const base = table.statSlot(config.statPrefix);
    if (base >= 0) counters = { ints: table.ints, base };
    else stats.warnRateLimitTableFull();
  }
  return new LocalRateLimitFactory(config, bucket, descriptors, counters, random);
}
