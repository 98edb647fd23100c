// The compressors of a listener's chain, compiled once per config version:
// one factory per http_filters entry, each knowing every encoding the chain
// offers (for negotiation) and holding its counters in the proxy's shared
// table, so /stats sums every worker's. Keys name the stat:
// http.<stat_prefix>.compressor.<library name>.<gzip|brotli>.
import type { HttpFilters } from '../../../src/config/bootstrap-types.js';
import type { CompressorConfig } from '../../../src/config/compressor-config.js';
import type { HttpFilterStats } from '../../http-filter-stats.js';
import { CompressorFactory, type CompressorCounters } from './compressor-filter.js';

/** The counters' slot key (the agent finds the same slot with it). */
export function compressorStatKey(hcmStatPrefix: string, c: Pick<CompressorConfig, 'libraryName' | 'libraryStat'>): string {
  return `compressor\u0000${hcmStatPrefix}\u0000${c.libraryName}\u0000${c.libraryStat}`;
}

/** Takes the listener's filters; returns a factory per compressor filter name. */
export function compileCompressors(filters: HttpFilters, hcmStatPrefix: string, stats: HttpFilterStats): Map<string, CompressorFactory> {
  const out = new Map<string, CompressorFactory>();
  const offered = filters.compressors.map((c) => c.encoding);
  filters.compressors.forEach((c, i) => {
    const table = stats.rateLimitTable;
    let counters: CompressorCounters | null = null;
    if (table !== null) {
      const base = table.claim(compressorStatKey(hcmStatPrefix, c), () => {});
      if (base >= 0) counters = { ints: table.ints, wide: table.wide, base };
      else stats.warnRateLimitTableFull();
    }
    if (counters === null) {
      const buffer = new ArrayBuffer(32);
      counters = { ints: new Int32Array(buffer), wide: new BigInt64Array(buffer), base: 0 };
    }
    out.set(c.filterName, new CompressorFactory(c, offered, i === 0, counters));
  });
  return out;
}
