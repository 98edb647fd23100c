// The JSON the dashboard page polls (GET /dashboard/api/state): the service
// graph, golden signals with their series, per-proxy xDS sync, the config
// resources' validation status and recent traces. Read-only and served
// without the admin token, so it carries names, versions, states and
// messages, never a key, token, certificate or config body.
import type { ResourceStatusView } from '../store/config-record.js';
import type { FileProblem } from '../store/plan-dir-sync.js';
import type { ProxySync, Syncz } from '../mesh/sync-status.js';
import { shortName } from '../mesh/proxy-name.js';
import type { TraceSummary } from '../tracing/span-store.js';
import type { Figures } from './mesh-figures.js';
import { sumFigures, type MeshSeries, type Point } from './mesh-series.js';

export type MtlsState = 'mutual_tls' | 'none' | 'mixed' | 'unknown';

export interface GraphNode {
  readonly id: string;
  readonly service: string;
  readonly version: string;
  /** Connected proxies of this service and version. */
  readonly proxies: number;
}

export interface GraphEdge {
  readonly source: string;
  readonly target: string;
  readonly rps: number;
  readonly errorPct: number;
  readonly p99: number | null;
  readonly mtls: MtlsState;
  readonly series: readonly Point[];
}

export interface ServiceView {
  readonly name: string;
  readonly versions: readonly string[];
  readonly rps: number;
  readonly errorPct: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly series: readonly Point[];
}

export interface ProxyView {
  readonly name: string;
  readonly node: string;
  readonly service: string | null;
  readonly version: string;
  /** SYNCED, STALE, NACK or NOT_SENT, the worst over its resource types. */
  readonly state: 'SYNCED' | 'STALE' | 'NACK' | 'NOT_SENT';
  readonly types: Readonly<Record<string, string>>;
  readonly nack: { readonly type: string; readonly message: string } | null;
  readonly connectedAt: string;
}

export interface ConfigView {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly source: string;
  readonly location: string | null;
  readonly status: string;
  readonly serving: string;
  readonly reason: string | null;
  readonly warnings: readonly string[];
}

export interface DashboardState {
  readonly generatedAt: number;
  readonly metrics: {
    readonly source: 'sidecars' | 'prometheus';
    /** Pull interval, ms (0: not pulling). */
    readonly intervalMs: number;
    readonly lastPullAt: number | null;
    readonly targets: number;
    readonly answered: number;
    readonly failures: readonly string[];
  };
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly services: readonly ServiceView[];
  readonly proxies: readonly ProxyView[];
  readonly config: readonly ConfigView[];
  readonly fileProblems: readonly string[];
  readonly traces: readonly TraceSummary[];
  readonly spans: { readonly accepted: number; readonly dropped: number; readonly traces: number };
}

export interface ViewInputs {
  readonly syncz: Syncz;
  /** Each connected node's version label (from its metadata), by node id. */
  readonly versionOf: (nodeId: string) => string;
  readonly series: MeshSeries;
  readonly source: 'sidecars' | 'prometheus';
  readonly intervalMs: number;
  readonly statuses: readonly ResourceStatusView[];
  readonly fileProblems: readonly FileProblem[];
  readonly traces: readonly TraceSummary[];
  readonly spans: DashboardState['spans'];
}

const MAX_MESSAGE = 2000;

function nodeId(service: string, version: string): string {
  return version === '' ? service : `${service} ${version}`;
}

function errorPct(f: Figures): number {
  return f.rps > 0 ? (100 * f.errorRps) / f.rps : 0;
}

/** Two series of one caller -> callee pair (one with the callee's version, one without): rates add up. */
function mergeEdges(a: GraphEdge, b: GraphEdge): GraphEdge {
  const rps = a.rps + b.rps;
  return {
    source: a.source, target: a.target, rps,
    errorPct: rps > 0 ? (a.errorPct * a.rps + b.errorPct * b.rps) / rps : 0,
    p99: a.p99 === null ? b.p99 : b.p99 === null ? a.p99 : Math.max(a.p99, b.p99),
    mtls: a.mtls === 'unknown' ? b.mtls : a.mtls,
    series: a.rps >= b.rps ? a.series : b.series,
  };
}

function mtlsOf(f: Figures | undefined): MtlsState {
  if (f === undefined || f.rps <= 0) return 'unknown';
  const share = f.mtlsRps / f.rps;
  return share >= 0.99 ? 'mutual_tls' : share <= 0.01 ? 'none' : 'mixed';
}

function proxyView(p: ProxySync, version: string): ProxyView {
  const types: Record<string, string> = {};
  let nack: ProxyView['nack'] = null;
  let worst: ProxyView['state'] = 'SYNCED';
  const rank = { SYNCED: 0, NOT_SENT: 1, STALE: 2, NACK: 3 } as const;
  for (const [type, t] of Object.entries(p.types)) {
    if (t === undefined) continue;
    const state = t.state === 'NACKED' ? 'NACK' : t.state;
    types[type] = state;
    if (rank[state] > rank[worst]) worst = state;
    if (state === 'NACK' && nack === null) nack = { type: type.toUpperCase(), message: (t.nackMessage ?? '').slice(0, MAX_MESSAGE) };
  }
  if (Object.keys(types).length === 0) worst = 'NOT_SENT';
  return { name: shortName(p.node), node: p.node, service: p.service, version, state: worst, types, nack, connectedAt: p.connectedAt };
}

/** `/abs/dir/reviews.yaml:12` -> `reviews.yaml:12`: the page names the file, not the host's layout. */
function baseLocation(location: string | null): string | null {
  if (location === null) return null;
  const slash = location.lastIndexOf('/');
  return slash < 0 ? location : location.slice(slash + 1);
}

export function buildDashboardState(input: ViewInputs): DashboardState {
  const { series } = input;
  const proxies = input.syncz.proxies.map((p) => proxyView(p, input.versionOf(p.node)));
  const nodes = new Map<string, { service: string; version: string; proxies: number }>();
  const touch = (service: string, version: string, proxiesAdded: number): string => {
    const id = nodeId(service, version);
    const n = nodes.get(id);
    if (n === undefined) nodes.set(id, { service, version, proxies: proxiesAdded });
    else n.proxies += proxiesAdded;
    return id;
  };
  for (const p of proxies) if (p.service !== null) touch(p.service, p.version, 1);
  // Inbound figures per service and per version: where the callee saw mTLS.
  const inbound = new Map<string, Figures>();
  const inboundByVersion = new Map<string, Figures>();
  for (const s of series.services.values()) {
    inbound.set(s.service, sumFigures(s.latest));
    for (const v of s.latest) inboundByVersion.set(nodeId(v.service, v.version), v);
  }
  // A caller's metrics name the callee's version only when its route picked a subset; when the callee runs one
  // version, an edge without one is that version's (else a second, versionless node would stand beside it).
  const onlyVersion = new Map<string, string | null>();
  for (const p of proxies) {
    if (p.service === null || p.version === '') continue;
    const seen = onlyVersion.get(p.service);
    onlyVersion.set(p.service, seen === undefined || seen === p.version ? p.version : null);
  }
  const byKey = new Map<string, GraphEdge>();
  for (const e of series.edges.values()) {
    const f = e.latest;
    const source = touch(f.source, f.sourceVersion, 0);
    const target = touch(f.target, f.targetVersion === '' ? onlyVersion.get(f.target) ?? '' : f.targetVersion, 0);
    const edge: GraphEdge = {
      source, target, rps: f.rps, errorPct: errorPct(f), p99: f.p99,
      mtls: mtlsOf(inboundByVersion.get(target) ?? inbound.get(f.target)),
      series: e.points,
    };
    const key = `${source}\n${target}`;
    const had = byKey.get(key);
    byKey.set(key, had === undefined ? edge : mergeEdges(had, edge));
  }
  const edges = [...byKey.values()].sort((a, b) => (a.source + a.target < b.source + b.target ? -1 : 1));
  const serviceNames = new Set<string>([...nodes.values()].map((n) => n.service));
  const services: ServiceView[] = [...serviceNames].sort().map((name) => {
    const entry = series.services.get(name);
    const f = entry === undefined ? undefined : sumFigures(entry.latest);
    const versions = [...nodes.values()].filter((n) => n.service === name && n.version !== '').map((n) => n.version).sort();
    return {
      name, versions,
      rps: f?.rps ?? 0, errorPct: f === undefined ? 0 : errorPct(f), p50: f?.p50 ?? null, p99: f?.p99 ?? null,
      series: entry?.points ?? [],
    };
  });
  const last = series.lastRound;
  return {
    generatedAt: Date.now(),
    metrics: {
      source: input.source, intervalMs: input.intervalMs, lastPullAt: last?.at ?? null,
      targets: last?.targets ?? 0, answered: last?.answered ?? 0, failures: last?.failures ?? [],
    },
    nodes: [...nodes.entries()].map(([id, n]) => ({ id, ...n })).sort((a, b) => (a.id < b.id ? -1 : 1)),
    edges,
    services,
    proxies,
    config: input.statuses.map((s) => ({
      kind: s.kind, namespace: s.namespace, name: s.name, source: s.source, location: baseLocation(s.location),
      status: s.status, serving: s.serving, reason: s.reason?.slice(0, MAX_MESSAGE) ?? null, warnings: s.warnings.slice(0, 10).map((w) => w.slice(0, MAX_MESSAGE)),
    })),
    fileProblems: input.fileProblems.slice(0, 50).map((p) => `${String(p.source)}: ${p.reason}`.slice(0, MAX_MESSAGE)),
    traces: input.traces,
    spans: input.spans,
  };
}
