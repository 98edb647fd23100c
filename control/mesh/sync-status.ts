// What /debug/syncz reports and `isthmus proxy-status` prints: every open ADS
// stream with its proxy's identity and, per resource type, the version sent,
// the version acknowledged, and the state Istio's proxy-status shows.
import type { StreamStatus } from '../xds/ads-stream.js';
import type { PublishedNode } from './mesh-publisher.js';
import { formatTable } from './admin-get.js';
import { shortName } from './proxy-name.js';
import { typeLabelOf, type XdsTypeLabel } from './push-metrics.js';

/** SYNCED: acked == sent; STALE: sent, not yet acked; NACKED: the last answer was a NACK; NOT_SENT: subscribed, nothing sent yet. */
export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT_SENT';

export interface TypeSync {
  readonly sent: string | null;
  readonly acked: string | null;
  readonly state: SyncState;
  readonly nackMessage: string | null;
}

export interface ProxySync {
  readonly node: string;
  readonly streamId: number;
  readonly protocol: 'sotw' | 'delta';
  readonly peer: string;
  readonly connectedAt: string;
  /** null when the node named no service (outbound only). */
  readonly service: string | null;
  readonly namespace: string | null;
  /** Whether its workload is an endpoint in the registry. */
  readonly registered: boolean;
  /** Node metadata that could not be used. */
  readonly problems: readonly string[];
  readonly types: Partial<Record<XdsTypeLabel, TypeSync>>;
  /** Responses handed to gRPC that the proxy has not read yet; `blocked`: later pushes wait, coalesced, for it to read. */
  readonly backlog: StreamStatus['backlog'];
}

/** The JSON body of /debug/syncz. */
export interface Syncz {
  readonly proxies: readonly ProxySync[];
}

export function syncState(sent: string | null, acked: string | null, nackMessage: string | null): SyncState {
  if (nackMessage !== null) return 'NACKED';
  if (sent === null) return 'NOT_SENT';
  return sent === acked ? 'SYNCED' : 'STALE';
}

/** One entry per stream, sorted by node id then stream id. */
export function buildSyncz(streams: readonly StreamStatus[], nodeOf: (id: string) => PublishedNode | undefined): Syncz {
  const proxies = streams.map((s): ProxySync => {
    const published = nodeOf(s.node.id);
    const types: Partial<Record<XdsTypeLabel, TypeSync>> = {};
    for (const t of s.types) {
      const label = typeLabelOf(t.typeUrl);
      if (label === undefined) continue;
      types[label] = { sent: t.sentVersion, acked: t.ackedVersion, state: syncState(t.sentVersion, t.ackedVersion, t.nackMessage), nackMessage: t.nackMessage };
    }
    return {
      node: s.node.id,
      streamId: s.streamId,
      protocol: s.protocol,
      peer: s.peer,
      connectedAt: s.connectedAt,
      service: published?.proxy.service ?? null,
      namespace: published?.proxy.namespace ?? null,
      registered: published?.registered ?? false,
      problems: published?.problems ?? [],
      types,
      backlog: s.backlog,
    };
  });
  proxies.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : a.streamId - b.streamId));
  return { proxies };
}

const COLUMNS: readonly XdsTypeLabel[] = ['cds', 'lds', 'eds', 'rds'];

/** istioctl proxy-status's table: NAME (the short name), CDS, LDS, EDS, RDS (with the NACK message under a NACKED row). */
export function formatProxyStatus(syncz: Syncz): string {
  const rows: string[][] = [['NAME', 'SERVICE', 'PROTOCOL', 'CDS', 'LDS', 'EDS', 'RDS']];
  const notes: string[] = [];
  for (const p of syncz.proxies) {
    const service = p.service === null ? '-' : `${p.service}.${p.namespace}`;
    rows.push([shortName(p.node), service, p.protocol, ...COLUMNS.map((c) => p.types[c]?.state ?? 'NOT_SENT')]);
    for (const c of COLUMNS) {
      const t = p.types[c];
      if (t?.state === 'NACKED') notes.push(`${shortName(p.node)} ${c.toUpperCase()} NACK: ${t.nackMessage}`);
    }
  }
  return formatTable(rows) + notes.map((n) => `${n}\n`).join('');
}
