// The dashboard's figures read from the sidecars themselves: each connected
// proxy announces its admin port (node metadata ADMIN_PORT); a pull GETs
// /stats/prometheus from every one (the address its ADS stream came from, so
// a proxy cannot point the control plane at another host), a few at a time,
// each bounded in time and size, keeps only the two Istio request families,
// and turns counter deltas since the previous pull into rates.
import { Agent } from 'node:http';
import type { StreamStatus } from '../xds/ads-stream.js';
import { parsePrometheusText } from './prometheus-parse.js';
import { fetchText, forEachLimited } from './metrics-fetch.js';
import type { EdgeFigures, PullRound, ServiceFigures } from './mesh-figures.js';
import { bucketQuantile } from './mesh-figures.js';

/** Where one proxy's metrics are and whose they are. */
export interface ScrapeTarget {
  readonly node: string;
  readonly service: string;
  readonly version: string;
  readonly host: string;
  readonly port: number;
}

export interface SidecarPullLimits {
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Samples of the wanted families kept per proxy. */
  readonly maxSeries: number;
  /** Edges and services kept per round. */
  readonly maxKeys: number;
}

export const DEFAULT_SIDECAR_PULL_LIMITS: SidecarPullLimits = Object.freeze({
  concurrency: 8, timeoutMs: 2000, maxBytes: 4 * 1024 * 1024, maxSeries: 4000, maxKeys: 500,
});

const REQUESTS = 'istio_requests_total';
const BUCKETS = 'istio_request_duration_milliseconds_bucket';
const NAMES: ReadonlySet<string> = new Set([REQUESTS, BUCKETS]);
const MAX_FAILURES_SHOWN = 20;

/** The metadata key a sidecar announces its admin port in (src/xds/xds-node.ts). */
export const ADMIN_PORT_KEY = 'ADMIN_PORT';

function metadataString(metadata: Record<string, unknown>, key: string): string | undefined {
  const v = metadata[key];
  return typeof v === 'string' && v.length <= 256 ? v : undefined;
}

/** `ipv4:127.0.0.1:5000`, `127.0.0.1:5000`, `ipv6:[::1]:5000` -> the address; undefined when not an IP peer. */
export function peerHost(peer: string): string | undefined {
  const p = peer.replace(/^ipv[46]:/, '');
  const v6 = /^\[([0-9a-fA-F:.]+)\]:\d+$/.exec(p);
  if (v6 !== null) return v6[1];
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(p);
  return v4 === null ? undefined : v4[1];
}

/** One target per connected node that announced an admin port (the first stream of a node wins). */
export function scrapeTargets(streams: readonly StreamStatus[]): ScrapeTarget[] {
  const seen = new Set<string>();
  const out: ScrapeTarget[] = [];
  for (const s of streams) {
    if (seen.has(s.node.id)) continue;
    const md = s.node.metadata;
    const portText = metadataString(md, ADMIN_PORT_KEY);
    const port = portText !== undefined && /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    const host = peerHost(s.peer);
    if (port < 1 || port > 65535 || host === undefined) continue;
    seen.add(s.node.id);
    const labels = md.LABELS;
    const labelVersion = typeof labels === 'object' && labels !== null ? (labels as Record<string, unknown>).version : undefined;
    out.push({
      node: s.node.id,
      service: metadataString(md, 'SERVICE') ?? 'unknown',
      version: metadataString(md, 'VERSION') || (typeof labelVersion === 'string' ? labelVersion : ''),
      host,
      port,
    });
  }
  return out;
}

interface TargetState {
  at: number;
  values: Map<string, number>;
}

interface Acc {
  rps: number;
  errorRps: number;
  mtlsRps: number;
  readonly buckets: Map<number, number>;
}

function newAcc(): Acc {
  return { rps: 0, errorRps: 0, mtlsRps: 0, buckets: new Map() };
}

export class SidecarMetricsSource {
  private readonly state = new Map<string, TargetState>();
  // One kept-alive connection per proxy between pulls; all closed when pulls stop (close()).
  private agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1, scheduling: 'lifo' });

  constructor(
    private readonly targets: () => readonly ScrapeTarget[],
    private readonly limits: SidecarPullLimits = DEFAULT_SIDECAR_PULL_LIMITS,
  ) {}

  /** Pulls every target once; resolves with the round's figures (never rejects). */
  async pull(): Promise<PullRound> {
    const targets = this.targets();
    const live = new Set(targets.map((t) => t.node));
    for (const node of this.state.keys()) if (!live.has(node)) this.state.delete(node);
    const edges = new Map<string, { e: Omit<EdgeFigures, keyof Acc | 'p50' | 'p99'>; acc: Acc }>();
    const services = new Map<string, { s: { service: string; version: string }; acc: Acc }>();
    const failures: string[] = [];
    let answered = 0;
    await forEachLimited(targets, this.limits.concurrency, async (t) => {
      const url = new URL(`http://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}/stats/prometheus`);
      const got = await fetchText(url, this.limits, this.agent);
      if (!got.ok) {
        if (failures.length < MAX_FAILURES_SHOWN) failures.push(`${t.node}: ${got.message}`);
        return;
      }
      answered++;
      this.take(t, got.text, edges, services);
    });
    const at = Date.now();
    const finish = <T>(acc: Acc, base: T): T & Omit<EdgeFigures, 'source' | 'sourceVersion' | 'target' | 'targetVersion'> => ({
      ...base, rps: acc.rps, errorRps: acc.errorRps, mtlsRps: acc.mtlsRps,
      p50: bucketQuantile(0.5, acc.buckets), p99: bucketQuantile(0.99, acc.buckets),
    });
    return {
      at,
      edges: [...edges.values()].map(({ e, acc }) => finish(acc, e)),
      services: [...services.values()].map(({ s, acc }): ServiceFigures => finish(acc, s)),
      targets: targets.length,
      answered,
      failures,
    };
  }

  /** Closes the kept-alive connections (pulls stopped); the next pull opens new ones. */
  close(): void {
    this.agent.destroy();
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1, scheduling: 'lifo' });
  }

  /** Folds one target's text into the round: deltas against its previous pull, as rates. */
  private take(
    t: ScrapeTarget, text: string,
    edges: Map<string, { e: Omit<EdgeFigures, keyof Acc | 'p50' | 'p99'>; acc: Acc }>,
    services: Map<string, { s: { service: string; version: string }; acc: Acc }>,
  ): void {
    const now = Date.now();
    const parsed = parsePrometheusText(text, { names: NAMES, maxSeries: this.limits.maxSeries });
    const prev = this.state.get(t.node);
    const values = new Map<string, number>();
    this.state.set(t.node, { at: now, values });
    const seconds = prev === undefined ? 0 : Math.max((now - prev.at) / 1000, 0.001);
    for (const sample of parsed.samples) {
      values.set(sample.id, sample.value);
      if (prev === undefined) continue; // the first pull is the baseline
      const before = prev.values.get(sample.id) ?? 0;
      const delta = sample.value >= before ? sample.value - before : sample.value; // a restarted proxy starts again at 0
      const l = sample.labels;
      const dest = l.destination_service ?? '';
      let acc: Acc;
      if (dest.startsWith('inbound|')) {
        const key = `${t.service}\n${t.version}`;
        let entry = services.get(key);
        if (entry === undefined) {
          if (services.size >= this.limits.maxKeys) continue;
          entry = { s: { service: t.service, version: t.version }, acc: newAcc() };
          services.set(key, entry);
        }
        acc = entry.acc;
      } else {
        const target = l.destination_service_name ?? 'unknown';
        const targetVersion = l.destination_version === undefined || l.destination_version === 'unknown' ? '' : l.destination_version;
        const key = `${t.service}\n${t.version}\n${target}\n${targetVersion}`;
        let entry = edges.get(key);
        if (entry === undefined) {
          if (edges.size >= this.limits.maxKeys) continue;
          entry = { e: { source: t.service, sourceVersion: t.version, target, targetVersion }, acc: newAcc() };
          edges.set(key, entry);
        }
        acc = entry.acc;
      }
      if (sample.name === REQUESTS) {
        const rate = delta / seconds;
        acc.rps += rate;
        if ((l.response_code ?? '').startsWith('5')) acc.errorRps += rate;
        if (l.connection_security_policy === 'mutual_tls') acc.mtlsRps += rate;
      } else {
        const le = l.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(l.le);
        if (Number.isNaN(le)) continue;
        acc.buckets.set(le, (acc.buckets.get(le) ?? 0) + delta);
      }
    }
  }
}
