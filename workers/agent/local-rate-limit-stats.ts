// The local rate limit's counters for /stats/prometheus (and so /stats):
// read by the agent straight from the shared table every worker adds to,
// for each stat_prefix the applied config names. Prometheus names follow
// Envoy's exporter: <stat_prefix>.http_local_rate_limit.<stat> has no tag
// extractor, so it is envoy_<stat_prefix>_http_local_rate_limit_<stat>.
import type { Bootstrap, LocalRateLimitConfig } from '../../src/config/bootstrap-types.js';
import { STAT, type RateLimitTable } from '../shared-state/rate-limit-buckets.js';

const STATS: readonly (readonly [string, number, string])[] = [
  ['enabled', STAT.ENABLED, 'Requests the local rate limit was enabled for.'],
  ['enforced', STAT.ENFORCED, 'Requests the local rate limit answered itself (rate limited and enforced).'],
  ['rate_limited', STAT.RATE_LIMITED, 'Requests with no token left, enforced or not.'],
  ['ok', STAT.OK, 'Requests that got a token.'],
];

/** Every local rate limit stat_prefix in a bootstrap (listener filters and per-route overrides), sorted. */
export function localRateLimitPrefixes(bootstrap: Bootstrap | undefined): string[] {
  const prefixes = new Set<string>();
  const add = (c: LocalRateLimitConfig | null): void => {
    if (c !== null && c.tokenBucket !== null) prefixes.add(c.statPrefix);
  };
  for (const l of bootstrap?.listeners ?? []) {
    for (const chain of l.filterChains) {
      if (chain.hcm.httpFilters.localRateLimit === null) continue;
      add(chain.hcm.httpFilters.localRateLimit);
      for (const vh of chain.hcm.routeConfig.virtualHosts) {
        add(vh.localRateLimit);
        for (const r of vh.routes) add(r.localRateLimit);
      }
    }
  }
  return [...prefixes].sort();
}

/** The runtime keys local rate limit configs name (ignored: the proxy has no runtime layer), sorted, once each. */
export function ignoredRuntimeKeys(bootstrap: Bootstrap): string[] {
  const keys = new Set<string>();
  const add = (c: LocalRateLimitConfig | null): void => {
    if (c !== null) for (const k of c.runtimeKeys) keys.add(k);
  };
  for (const l of bootstrap.listeners) {
    for (const chain of l.filterChains) {
      add(chain.hcm.httpFilters.localRateLimit);
      for (const vh of chain.hcm.routeConfig.virtualHosts) {
        add(vh.localRateLimit);
        for (const r of vh.routes) add(r.localRateLimit);
      }
    }
  }
  return [...keys].sort();
}

/** Prometheus sanitising, as Envoy's exporter does: anything outside [a-zA-Z0-9_] becomes '_'. */
function sanitize(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

/** Takes the applied bootstrap and the shared table; returns the families' exposition text ('' when none). */
export function localRateLimitPrometheus(bootstrap: Bootstrap | undefined, table: RateLimitTable): string {
  let out = '';
  for (const prefix of localRateLimitPrefixes(bootstrap)) {
    const base = table.find(`stat\u0000${prefix}`);
    for (const [stat, field, help] of STATS) {
      const name = `envoy_${sanitize(prefix)}_http_local_rate_limit_${stat}`;
      out += `# HELP ${name} ${help}\n# TYPE ${name} counter\n${name} ${base < 0 ? 0 : table.readStat(base, field)}\n`;
    }
  }
  return out;
}
