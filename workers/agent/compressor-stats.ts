// The compressor filters' counters for /stats/prometheus (and so /stats),
// read by the agent from the shared table every worker adds to. Envoy's
// stat http.<stat_prefix>.compressor.<name>.<library>.<stat> becomes the
// family envoy_http_compressor_<stat> with the prefix, name and library as
// labels (envoy-stats.ts turns it back into the dotted name).
import type { Bootstrap } from '../../src/config/bootstrap-types.js';
import { compressorStatKey } from '../filters/compressor/compressor-compile.js';
import { COMPRESSOR_STAT, type RateLimitTable } from '../shared-state/rate-limit-buckets.js';

const STATS: readonly (readonly [string, 'int' | 'wide', number, string])[] = [
  ['compressed', 'int', COMPRESSOR_STAT.COMPRESSED, 'Responses compressed.'],
  ['not_compressed', 'int', COMPRESSOR_STAT.NOT_COMPRESSED, 'Responses not compressed.'],
  ['total_uncompressed_bytes', 'wide', COMPRESSOR_STAT.WIDE_UNCOMPRESSED_BYTES, 'Body bytes of compressed responses before compression.'],
  ['total_compressed_bytes', 'wide', COMPRESSOR_STAT.WIDE_COMPRESSED_BYTES, 'Body bytes of compressed responses after compression.'],
];

function escape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Takes the applied bootstrap and the shared table; returns the families' exposition text ('' when no compressor). */
export function compressorPrometheus(bootstrap: Bootstrap | undefined, table: RateLimitTable): string {
  const rows: { labels: string; base: number }[] = [];
  const seen = new Set<string>();
  for (const l of bootstrap?.listeners ?? []) {
    for (const chain of l.filterChains) {
      for (const c of chain.hcm.httpFilters.compressors) {
        const key = compressorStatKey(chain.hcm.statPrefix, c);
        if (seen.has(key)) continue;
        seen.add(key);
        const labels = `{envoy_http_conn_manager_prefix="${escape(chain.hcm.statPrefix)}",compressor_name="${escape(c.libraryName)}",compressor_library="${c.libraryStat}"}`;
        rows.push({ labels, base: table.find(key) });
      }
    }
  }
  if (rows.length === 0) return '';
  let out = '';
  for (const [stat, kind, field, help] of STATS) {
    const name = `envoy_http_compressor_${stat}`;
    out += `# HELP ${name} ${help}\n# TYPE ${name} counter\n`;
    for (const r of rows) {
      const value = r.base < 0 ? 0 : kind === 'int' ? table.readStat(r.base, field) : table.readStatWide(r.base, field);
      out += `${name}${r.labels} ${value}\n`;
    }
  }
  return out;
}
