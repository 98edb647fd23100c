// What the agent's admin endpoints answer that is assembled from its state
// rather than asked of the workers: /server_info (envoy.admin.v3.ServerInfo),
// the server.* stats, and /config_dump from the applied bootstrap file's
// text and the xDS client's accepted resources. Kept apart from ProxyAgent,
// which owns the state and the lifecycle.
import { redactPrivateKeys } from './certs-view.js';
import { parse as parseYaml } from 'yaml';
import { TEXT, jsonReply, reply, type Reply } from '../../src/admin/admin-http.js';
import { packageVersion } from '../../src/cli/main.js';
import { buildConfigDump, selectConfigDump, type DynamicType } from './envoy-config-dump.js';
import type { StatEntry } from './envoy-stats.js';
import type { ProxyOptions } from './proxy-options.js';
import type { XdsClient } from './xds-client.js';
import type { ThreadModel } from './data-plane-host.js';
import { loadedPackages } from '../../src/process/loaded-packages.js';

export type ServerState = 'LIVE' | 'DRAINING' | 'INITIALIZING';

const uptimeSeconds = (startedAt: number) => Math.floor((Date.now() - startedAt) / 1000);

/** Envoy's server.* gauges that apply here. */
export function serverStats(startedAt: number, live: boolean, workers: number): StatEntry[] {
  const memory = process.memoryUsage();
  return [
    { name: 'server.uptime', value: uptimeSeconds(startedAt) },
    { name: 'server.live', value: live ? 1 : 0 },
    { name: 'server.concurrency', value: workers },
    { name: 'server.memory_allocated', value: memory.heapUsed + memory.external },
    { name: 'server.memory_heap_size', value: memory.heapTotal },
    { name: 'server.memory_physical_size', value: memory.rss },
  ];
}

export interface ServerInfoInput {
  readonly options: ProxyOptions;
  readonly startedAt: number;
  readonly state: ServerState;
  readonly logLevel: string;
  readonly xds: XdsClient | null;
  readonly threadModel: ThreadModel;
}

/** envoy.admin.v3.ServerInfo's fields, as far as they apply to this proxy. */
export function serverInfo(input: ServerInfoInput): unknown {
  const { options: o, xds } = input;
  const uptime = `${uptimeSeconds(input.startedAt)}s`;
  return {
    version: `isthmus/${packageVersion()}`,
    state: input.state,
    uptime_current_epoch: uptime,
    uptime_all_epochs: uptime,
    command_line_options: {
      concurrency: o.workers,
      ...(o.bootstrap !== undefined ? { config_path: o.bootstrap } : {}),
      log_level: input.logLevel,
      service_cluster: o.service ?? '',
      service_node: xds?.node.id ?? '',
      service_zone: o.control?.locality?.zone ?? '',
      drain_time: `${o.drainTimeoutMs / 1000}s`,
      mode: 'Serve',
    },
    node: xds === null ? { id: '', cluster: o.service ?? '' } : { id: xds.node.id, cluster: xds.node.cluster },
    // Not Envoy's: where the data plane runs ('main-thread' with one worker, else 'worker-threads').
    thread_model: input.threadModel,
    // Not Envoy's: npm packages this process loaded (a role loads only what it uses; see loaded-packages.ts).
    loaded_packages: loadedPackages(),
  };
}

export interface ConfigDumpSources {
  /** The bootstrap file's text as last applied (null: no file). */
  readonly fileText: string | null;
  readonly fileAppliedAt: string;
  readonly xds: XdsClient | null;
  readonly control: ProxyOptions['control'];
}

/** /config_dump's answer: the whole dump, or the selection ?resource= / ?mask= / ?name_regex= ask for. */
export function envoyConfigDumpReply(src: ConfigDumpSources, query: URLSearchParams): Reply {
  const dynamic = new Map<string, DynamicType>();
  for (const [typeUrl, record] of src.xds?.acceptedTypes() ?? []) {
    dynamic.set(typeUrl, {
      version: record.version,
      acceptedAt: record.acceptedAt,
      resources: [...record.resources].map(([name, r]) => ({ name, json: r.json, version: r.version })),
    });
  }
  let fileBootstrap: unknown = null;
  try {
    fileBootstrap = src.fileText === null ? null : redactPrivateKeys(parseYaml(src.fileText));
  } catch {
    // the text parsed when it was applied; a failure here leaves the static part empty
  }
  const node = src.xds === null ? null : { id: src.xds.node.id, cluster: src.xds.node.cluster };
  const ads = src.control === undefined ? null : { target: src.control.target, protocol: src.control.protocol };
  const dump = buildConfigDump({ fileBootstrap, fileAppliedAt: src.fileAppliedAt, node, ads, dynamic }, query.has('include_eds'));
  const selection = selectConfigDump(dump, query);
  return selection.ok ? jsonReply(200, selection.body) : reply(selection.status, TEXT, `${selection.message}\n`);
}
