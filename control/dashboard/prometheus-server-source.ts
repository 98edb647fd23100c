// The dashboard's figures read from a Prometheus server that scrapes the
// sidecars (`isthmus control --prometheus URL`): three instant queries per
// pull over its HTTP API (/api/v1/query), rates and percentiles computed by
// Prometheus. Its answer is peer input: bounded in size, and only vectors of
// the expected shape are read. A Prometheus scrape carries no source version
// (the sidecar's own metrics do not), so callers appear per service.
import { fetchText } from './metrics-fetch.js';
import type { EdgeFigures, PullRound, ServiceFigures } from './mesh-figures.js';

export interface PrometheusSourceLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxKeys: number;
}

export const DEFAULT_PROMETHEUS_LIMITS: PrometheusSourceLimits = Object.freeze({ timeoutMs: 3000, maxBytes: 4 * 1024 * 1024, maxKeys: 500 });

const BY = 'source_workload, destination_service, destination_service_name, destination_version';
const WINDOW = '1m';

export const PROMETHEUS_QUERIES = Object.freeze({
  rate: `sum by (${BY}, response_code, connection_security_policy) (rate(istio_requests_total[${WINDOW}]))`,
  p50: `histogram_quantile(0.5, sum by (le, ${BY}) (rate(istio_request_duration_milliseconds_bucket[${WINDOW}])))`,
  p99: `histogram_quantile(0.99, sum by (le, ${BY}) (rate(istio_request_duration_milliseconds_bucket[${WINDOW}])))`,
});

interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/** Reads a /api/v1/query answer; returns its samples, or a message. */
export function readVector(text: string): VectorSample[] | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const b = body as { status?: unknown; data?: { resultType?: unknown; result?: unknown }; error?: unknown };
  if (b?.status !== 'success') return `status ${JSON.stringify(b?.status)}${typeof b?.error === 'string' ? `: ${b.error.slice(0, 200)}` : ''}`;
  if (b.data?.resultType !== 'vector' || !Array.isArray(b.data.result)) return 'not an instant vector';
  const out: VectorSample[] = [];
  for (const r of b.data.result as unknown[]) {
    const item = r as { metric?: unknown; value?: unknown };
    if (typeof item?.metric !== 'object' || item.metric === null || !Array.isArray(item.value)) continue;
    const value = Number(item.value[1]);
    const metric: Record<string, string> = {};
    for (const [k, v] of Object.entries(item.metric)) if (typeof v === 'string') metric[k] = v;
    out.push({ metric, value: Number.isFinite(value) ? value : Number.NaN });
  }
  return out;
}

type Key = { inbound: true; service: string } | { inbound: false; source: string; target: string; targetVersion: string };

function keyOf(m: Record<string, string>): Key {
  const source = m.source_workload ?? 'unknown';
  if ((m.destination_service ?? '').startsWith('inbound|') || (m.destination_service_name ?? '').startsWith('inbound|')) return { inbound: true, service: source };
  const v = m.destination_version;
  return { inbound: false, source, target: m.destination_service_name ?? 'unknown', targetVersion: v === undefined || v === 'unknown' ? '' : v };
}

function keyText(k: Key): string {
  return k.inbound ? `in\n${k.service}` : `${k.source}\n${k.target}\n${k.targetVersion}`;
}

interface Acc {
  key: Key;
  rps: number;
  errorRps: number;
  mtlsRps: number;
  p50: number | null;
  p99: number | null;
}

export class PrometheusServerSource {
  private readonly base: string;

  constructor(url: string, private readonly limits: PrometheusSourceLimits = DEFAULT_PROMETHEUS_LIMITS) {
    this.base = url.replace(/\/+$/, '');
  }

  private async query(q: string): Promise<VectorSample[] | string> {
    const got = await fetchText(new URL(`${this.base}/api/v1/query?query=${encodeURIComponent(q)}`), this.limits);
    return got.ok ? readVector(got.text) : got.message;
  }

  async pull(): Promise<PullRound> {
    const [rate, p50, p99] = await Promise.all([this.query(PROMETHEUS_QUERIES.rate), this.query(PROMETHEUS_QUERIES.p50), this.query(PROMETHEUS_QUERIES.p99)]);
    const failures: string[] = [];
    const accs = new Map<string, Acc>();
    const accOf = (m: Record<string, string>): Acc | undefined => {
      const key = keyOf(m);
      const text = keyText(key);
      let a = accs.get(text);
      if (a === undefined) {
        if (accs.size >= this.limits.maxKeys) return undefined;
        a = { key, rps: 0, errorRps: 0, mtlsRps: 0, p50: null, p99: null };
        accs.set(text, a);
      }
      return a;
    };
    if (typeof rate === 'string') failures.push(`${this.base} rate query: ${rate}`);
    else {
      for (const s of rate) {
        if (Number.isNaN(s.value)) continue;
        const a = accOf(s.metric);
        if (a === undefined) continue;
        a.rps += s.value;
        if ((s.metric.response_code ?? '').startsWith('5')) a.errorRps += s.value;
        if (s.metric.connection_security_policy === 'mutual_tls') a.mtlsRps += s.value;
      }
    }
    for (const [name, result] of [['p50', p50], ['p99', p99]] as const) {
      if (typeof result === 'string') {
        failures.push(`${this.base} ${name} query: ${result}`);
        continue;
      }
      for (const s of result) {
        if (Number.isNaN(s.value)) continue; // histogram_quantile over no requests
        const a = accOf(s.metric);
        if (a !== undefined) a[name] = s.value;
      }
    }
    const edges: EdgeFigures[] = [];
    const services: ServiceFigures[] = [];
    for (const a of accs.values()) {
      const f = { rps: a.rps, errorRps: a.errorRps, mtlsRps: a.mtlsRps, p50: a.p50, p99: a.p99 };
      if (a.key.inbound) services.push({ service: a.key.service, version: '', ...f });
      else edges.push({ source: a.key.source, sourceVersion: '', target: a.key.target, targetVersion: a.key.targetVersion, ...f });
    }
    return { at: Date.now(), edges, services, targets: 1, answered: failures.length === 0 ? 1 : 0, failures };
  }
}
