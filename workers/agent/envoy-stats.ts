// The admin /stats in Envoy's text format (`name: value` lines, sorted) and
// its JSON (`{"stats":[{"name","value"}]}`), made from the same samples as
// /stats/prometheus so the two never disagree. Envoy's own families get
// Envoy's dotted names back (`envoy_cluster_upstream_rq_total{cluster_name=
// "backend"}` is `cluster.backend.upstream_rq_total`); the rest keep their
// Prometheus name with the labels in braces. Histogram buckets are left out
// (their _count and _sum stay), as Envoy's text /stats shows no buckets.
import type { SearchRegex } from '../../src/config/re2-regex.js';

export interface StatEntry {
  readonly name: string;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
/** Envoy's stat scopes whose Prometheus families carry the scope's name as `<scope>_name`. */
const SCOPES = ['cluster', 'listener', 'http', 'vhost'];

/** envoy_<stat_prefix>_http_local_rate_limit_<stat>: the local rate limit's counters, back to <stat_prefix>.http_local_rate_limit.<stat>. */
const LOCAL_RATE_LIMIT = /^envoy_(.+)_http_local_rate_limit_(enabled|enforced|rate_limited|ok)$/;

/** envoy_http_rbac_<stat>{envoy_http_conn_manager_prefix}: back to http.<prefix>.rbac.<stat>, Envoy's name. */
const RBAC = /^envoy_http_rbac_(allowed|denied|shadow_allowed|shadow_denied)$/;

/** envoy_http_ext_authz_<stat>{envoy_http_conn_manager_prefix}: back to http.<prefix>.ext_authz.<stat>. */
const EXT_AUTHZ = /^envoy_http_ext_authz_(ok|denied|error|failure_mode_allowed)$/;

function envoyName(family: string, labels: [string, string][]): string {
  const rbac = labels.length === 1 ? RBAC.exec(family) : null;
  if (rbac !== null) return `http.${labels[0]![1]}.rbac.${rbac[1]}`;
  const extAuthz = labels.length === 1 ? EXT_AUTHZ.exec(family) : null;
  if (extAuthz !== null) return `http.${labels[0]![1]}.ext_authz.${extAuthz[1]}`;
  const rateLimit = labels.length === 0 ? LOCAL_RATE_LIMIT.exec(family) : null;
  if (rateLimit !== null) return `${rateLimit[1]}.http_local_rate_limit.${rateLimit[2]}`;
  if (family.startsWith('envoy_http_compressor_') && labels.length === 3) {
    const [prefix, name, library] = labels.map(([, v]) => v);
    return `http.${prefix}.compressor.${name}.${library}.${family.slice('envoy_http_compressor_'.length)}`;
  }
  if (family.startsWith('envoy_')) {
    const rest = family.slice('envoy_'.length);
    for (const scope of SCOPES) {
      const label = labels.findIndex(([k]) => k === `${scope}_name`);
      if (rest.startsWith(`${scope}_`) && label >= 0) {
        const others = labels.filter((_, i) => i !== label);
        const base = `${scope}.${labels[label]![1]}.${rest.slice(scope.length + 1)}`;
        return others.length === 0 ? base : `${base}{${others.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
      }
    }
  }
  return labels.length === 0 ? family : `${family}{${labels.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
}

/** Takes Prometheus exposition text; returns one entry per sample (buckets left out). */
export function statsFromPrometheus(text: string): StatEntry[] {
  const out: StatEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null || m[1]!.endsWith('_bucket')) continue;
    const labels: [string, string][] = [];
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels.push([l[1]!, l[2]!]);
    out.push({ name: envoyName(m[1]!, labels), value: Number(m[3]) });
  }
  return out;
}

function selected(entries: readonly StatEntry[], filter: SearchRegex | null): StatEntry[] {
  return entries.filter((e) => filter === null || filter.test(e.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Envoy's text /stats: `name: value` per line, sorted by name; `filter` as ?filter= (a regex searched in the name). */
export function envoyStatsText(entries: readonly StatEntry[], filter: SearchRegex | null): string {
  return selected(entries, filter).map((e) => `${e.name}: ${e.value}\n`).join('');
}

/** Envoy's /stats?format=json: `{"stats":[{"name","value"}]}`. */
export function envoyStatsJson(entries: readonly StatEntry[], filter: SearchRegex | null): { stats: StatEntry[] } {
  return { stats: selected(entries, filter) };
}
