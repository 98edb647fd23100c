// The policy filter's config compiled for one listener, once per config
// version: its static attributes indexed, its check cache (one per policy
// server and this worker's thread, kept across versions so answers survive
// reloads) and its Report batcher.
import type { Listener } from '../../../src/config/bootstrap-types.js';
import type { MixerFilterConfig, StaticAttribute } from '../../../src/config/mixer-filter-config.js';
import { CheckCache } from './check-cache.js';
import { checkCacheDb } from './check-cache-db.js';
import { MIXER_COUNTER } from './mixer-counters.js';
import { MixerFilterFactory } from './mixer-filter.js';
import { reportBatcherFor } from './report-batcher.js';

const caches = new Map<string, CheckCache>();

/** takes a listener's mixer config and the proxy's counters; returns the filter factory its routes share. */
export function compileMixerFilter(config: MixerFilterConfig, listener: Pick<Listener, 'address'>, counters: Int32Array): MixerFilterFactory {
  const statics = new Map<string, StaticAttribute>();
  for (const a of config.mixerAttributes) statics.set(a.name, a);
  const scope = `cluster:${config.checkCluster}`;
  let cache = caches.get(scope);
  if (cache === undefined) {
    cache = new CheckCache(checkCacheDb(), scope, config.checkCacheMaxEntries, () => Atomics.add(counters, MIXER_COUNTER.CACHE_WRITE_ERRORS, 1));
    caches.set(scope, cache);
  }
  const reportTarget = config.reportCluster === '' ? config.checkCluster : config.reportCluster;
  const batcher = config.disableReportCalls ? null : reportBatcherFor(reportTarget, config.reportBatchMaxEntries, config.reportBatchMaxTimeMs);
  return new MixerFilterFactory(config, {
    statics,
    destinationIp: listener.address.address,
    destinationPort: listener.address.port,
  }, cache, batcher, counters);
}
