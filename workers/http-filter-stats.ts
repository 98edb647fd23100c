// The fault and CORS filters' counters of one worker, one set per listener
// stat prefix (Envoy's http.<stat_prefix>.fault.* and .cors.* stats). Plain
// numeric fields bumped in place; the agent sums them over workers
// (src/stats/http-filter-stats.ts).
import type { HttpFilterCounters } from '../src/stats/http-filter-stats.js';
import { LocalActiveFaults, type ActiveFaultGate } from './shared-state/active-faults.js';
import { LOCAL_MIXER_COUNTERS } from './filters/mixer/mixer-counters.js';
import type { RateLimitTable } from './shared-state/rate-limit-buckets.js';

export class ListenerFilterStats implements HttpFilterCounters {
  delaysInjected = 0;
  abortsInjected = 0;
  activeFaults = 0;
  faultsOverflow = 0;
  corsOriginValid = 0;
  corsOriginInvalid = 0;
  rbacAllowed = 0;
  rbacDenied = 0;
  rbacShadowAllowed = 0;
  rbacShadowDenied = 0;
  extAuthzOk = 0;
  extAuthzDenied = 0;
  extAuthzError = 0;
  extAuthzFailureModeAllowed = 0;

  constructor(readonly statPrefix: string) {}
}

export class HttpFilterStats {
  private readonly byPrefix = new Map<string, ListenerFilterStats>();
  /** Where max_active_faults is counted: the worker sets the proxy-wide gate over its shared state. */
  faultGate: ActiveFaultGate = new LocalActiveFaults();
  /** The proxy's local rate limit buckets and counters (set by the data plane); null: each bucket is this thread's own. */
  rateLimitTable: RateLimitTable | null = null;
  /** The policy filter's proxy-wide counters (set by the data plane from WorkerInit); this thread's own otherwise. */
  mixerCounters: Int32Array = LOCAL_MIXER_COUNTERS.table;
  /** Told when the shared table has no room left (a bucket then counts for this thread only). */
  onRateLimitTableFull: () => void = () => {};
  private warnedTableFull = false;

  warnRateLimitTableFull(): void {
    if (this.warnedTableFull) return;
    this.warnedTableFull = true;
    this.onRateLimitTableFull();
  }

  /** The counters of one stat prefix; the same object across config versions, so counts survive reloads. */
  forPrefix(statPrefix: string): ListenerFilterStats {
    let stats = this.byPrefix.get(statPrefix);
    if (stats === undefined) this.byPrefix.set(statPrefix, (stats = new ListenerFilterStats(statPrefix)));
    return stats;
  }

  snapshot(): HttpFilterCounters[] {
    return [...this.byPrefix.values()].map((s) => ({ ...s }));
  }
}
