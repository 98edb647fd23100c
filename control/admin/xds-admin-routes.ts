// The control admin endpoints of the xDS side: /debug/syncz (every connected
// proxy, per type SYNCED / STALE / NACKED with the NACK message) and
// /debug/config_dump?proxy=ID (the resources the proxy's snapshot holds,
// per type with the version in it, the version sent and the version acked).
import { jsonReply, reply, TEXT, type AdminRoute } from '../../src/admin/admin-http.js';
import { queryParam } from '../../src/admin/query-param.js';
import type { MeshPublisher } from '../mesh/mesh-publisher.js';
import { buildSyncz } from '../mesh/sync-status.js';
import type { AdsServer } from '../xds/ads-server.js';
import { TYPE_URL } from '../xds/protos.js';
import type { SnapshotCache } from '../xds/snapshot-cache.js';

/** The config dump's sections, in make-before-break order. */
export const CONFIG_DUMP_SECTIONS = {
  clusters: TYPE_URL.CLUSTER,
  endpoints: TYPE_URL.ENDPOINT,
  listeners: TYPE_URL.LISTENER,
  routes: TYPE_URL.ROUTE,
} as const;

export type ConfigDumpSection = keyof typeof CONFIG_DUMP_SECTIONS;

export interface ConfigDumpSectionBody {
  /** The version in the proxy's current snapshot. */
  readonly version: string | null;
  /** Last sent and acked on its stream(s) (the first stream that has the type). */
  readonly sent: string | null;
  readonly acked: string | null;
  readonly resources: readonly object[];
}

/** The JSON body of /debug/config_dump?proxy=ID. */
export interface ProxyConfigDump {
  readonly proxy: string;
  readonly sections: Record<ConfigDumpSection, ConfigDumpSectionBody>;
}

export interface XdsAdminParts {
  readonly ads: AdsServer;
  readonly cache: SnapshotCache;
  readonly publisher: MeshPublisher;
}

export function xdsAdminRoutes(parts: XdsAdminParts): AdminRoute[] {
  const { ads, cache, publisher } = parts;
  return [
    { method: 'GET', path: '/debug/syncz', handle: () => jsonReply(200, buildSyncz(ads.status(), (id) => publisher.node(id))) },
    {
      method: 'GET',
      path: '/debug/config_dump',
      handle: (_body, query) => {
        const proxy = queryParam(query, 'proxy');
        if (proxy === undefined || proxy === '') return reply(400, TEXT, 'needs ?proxy=NODE_ID (see /debug/syncz for the connected proxies)\n');
        const snapshot = cache.getSnapshot(proxy);
        if (snapshot === undefined) return reply(404, TEXT, `no connected proxy with node id ${JSON.stringify(proxy)}\n`);
        const streams = ads.status().filter((s) => s.node.id === proxy);
        const sections = {} as Record<ConfigDumpSection, ConfigDumpSectionBody>;
        for (const [section, typeUrl] of Object.entries(CONFIG_DUMP_SECTIONS) as [ConfigDumpSection, string][]) {
          const type = streams.flatMap((s) => s.types).find((t) => t.typeUrl === typeUrl);
          sections[section] = {
            version: snapshot.version(typeUrl) ?? null,
            sent: type?.sentVersion ?? null,
            acked: type?.ackedVersion ?? null,
            resources: [...snapshot.resources(typeUrl).values()],
          };
        }
        const body: ProxyConfigDump = { proxy, sections };
        return jsonReply(200, body);
      },
    },
  ];
}
