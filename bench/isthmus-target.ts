// Starts `isthmus proxy` as the bench's system under test: a generated Envoy v3
// bootstrap with one listener on 127.0.0.1 port 0 routing everything to the
// bench upstream, access log off (as the peers run; on for the row that
// measures its cost), and the listener port
// taken from the proxy's "proxy ready" log line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';
import { binNodeFlags, isthmusCommand, parseProxyReady, type ProxyReady } from '../src/process/proxy-process.js';
import { IDLE_CLUSTER, IDLE_HTTP_FILTERS, IDLE_LOCALITY, IDLE_ROUTE, IDLE_VIRTUAL_HOST, idleShadowCluster } from './resilience-bootstrap.js';

export interface BootstrapOptions {
  /** Listener port; default 0 (the kernel picks; read from the ready line). */
  readonly listenPort?: number;
  /** A route generation: n > 0 adds n-th extra prefix route ahead of the catch-all (the reload scenario's change). */
  readonly generation?: number;
  /** Every data plane v2 feature configured but idle (the resilience scenario; see resilience-bootstrap.ts). */
  readonly idleResilience?: boolean;
  /** --access-log for the proxy; default 'off' (as the peers run). */
  readonly accessLog?: string;
  /** RBAC http_filters to put ahead of the router (the authz scenario; JSON, which YAML reads as flow style). */
  readonly httpFilters?: readonly object[];
  /** The policy scenario: the mixer filter checking with the Mixer server on this port (cluster `mixer`). */
  readonly mixerPort?: number;
  /** The tracing scenario: http_connection_manager.tracing at this random_sampling percent, spans to a collector on this port. */
  readonly tracing?: { readonly samplingPercent: number; readonly collectorPort: number };
  /** With mixerPort: Report on (the report scenario), the attributes Istio's telemetry rules read. */
  readonly mixerReport?: boolean;
}

/** The HCM's tracing field (JSON, which YAML reads as flow style): Zipkin v2 JSON to the `zipkin` cluster. */
function tracingField(samplingPercent: number): string {
  const tracing = {
    provider: {
      name: 'envoy.tracers.zipkin',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig',
        collector_cluster: 'zipkin', collector_endpoint: '/api/v2/spans', collector_endpoint_version: 'HTTP_JSON',
      },
    },
    random_sampling: { value: samplingPercent },
  };
  return `          tracing: ${JSON.stringify(tracing)}\n`;
}

/** The policy filter before the router: the check attributes a typical rule set reads, Report off (Check alone is measured). */
const MIXER_HTTP_FILTERS = `          http_filters:
          - name: isthmus.filters.http.mixer
            typed_config:
              "@type": type.googleapis.com/isthmus.mixer.v1.config.client.HttpClientConfig
              transport: { check_cluster: mixer }
              check_attributes: [request.method, request.path, request.headers, source.ip]
              disable_report_calls: true
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
`;

/** The same with Report on: what the telemetry rules (a metric and a log entry per request) read. */
const MIXER_REPORT_HTTP_FILTERS = MIXER_HTTP_FILTERS.replace(
  '              disable_report_calls: true\n',
  '              report_attributes: [request.method, request.path, request.time, response.code, response.duration, context.protocol]\n',
);

function mixerCluster(port: number): string {
  return `  - name: mixer
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: mixer
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: ${port} }
`;
}

/** A bootstrap with one listener sending every request to one STATIC cluster. */
export function benchBootstrapYaml(upstreamPort: number, options: BootstrapOptions = {}): string {
  const generation = options.generation ?? 0;
  const extraRoute = generation > 0 ? `              - match: { prefix: "/generation-${generation}/" }\n                route: { cluster: upstream }\n` : '';
  const idle = options.idleResilience === true;
  const endpointGroup = idle ? IDLE_LOCALITY : '      - lb_endpoints:\n';
  return `# written by isthmus bench
static_resources:
  listeners:
  - name: bench
    address:
      socket_address: { address: 127.0.0.1, port_value: ${options.listenPort ?? 0} }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: bench
${options.tracing === undefined ? '' : tracingField(options.tracing.samplingPercent)}${idle ? IDLE_HTTP_FILTERS : ''}${options.mixerPort !== undefined ? (options.mixerReport === true ? MIXER_REPORT_HTTP_FILTERS : MIXER_HTTP_FILTERS) : ''}${options.httpFilters === undefined ? '' : `          http_filters: ${JSON.stringify([...options.httpFilters, { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }])}\n`}          route_config:
            name: bench
            virtual_hosts:
            - name: all
              domains: ["*"]
${idle ? IDLE_VIRTUAL_HOST : ''}              routes:
${extraRoute}              - match: { prefix: "/" }
${idle ? IDLE_ROUTE : '                route: { cluster: upstream }\n'}  clusters:
  - name: upstream
    type: STATIC
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
${idle ? IDLE_CLUSTER : ''}    load_assignment:
      cluster_name: upstream
      endpoints:
${endpointGroup}        - endpoint:
            address:
              socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} }
${idle ? idleShadowCluster(upstreamPort) : ''}${options.mixerPort !== undefined ? mixerCluster(options.mixerPort) : ''}${options.tracing !== undefined ? mixerCluster(options.tracing.collectorPort).replace(/mixer/g, 'zipkin') : ''}`;
}

/** Where startIsthmus writes the bootstrap it starts the proxy with (the reload scenario rewrites it). */
export function bootstrapPath(dir: string): string {
  return join(dir, 'bootstrap.yaml');
}

/** Writes the bootstrap into dir and starts the proxy with `workers` worker threads. */
export async function startIsthmus(
  upstreamPort: number,
  workers: number,
  dir: string,
  options: BootstrapOptions & {
    readonly onLine?: (line: string) => void;
    /** Another build of Isthmus to run (a checkout with bin/isthmus.js and its build), e.g. the previous release. */
    readonly checkout?: string;
    /** --transport; the proxy's default when not given. */
    readonly transport?: 'node' | 'native';
    /** More `isthmus proxy` arguments (e.g. --main-thread-data-plane). */
    readonly args?: readonly string[];
  } = {},
): Promise<ManagedProcess<ProxyReady>> {
  mkdirSync(dir, { recursive: true });
  const bootstrap = bootstrapPath(dir);
  writeFileSync(bootstrap, benchBootstrapYaml(upstreamPort, options));
  const proxyArgs = [
    'proxy',
    '--bootstrap', bootstrap,
    '--workers', String(workers),
    '--admin-port', '0',
    '--data-dir', join(dir, 'data'),
    '--access-log', options.accessLog ?? 'off',
    ...(options.transport === undefined ? [] : ['--transport', options.transport]),
    ...(options.args ?? []),
  ];
  const { command, args } =
    options.checkout === undefined
      ? isthmusCommand(proxyArgs)
      : { command: process.execPath, args: [...binNodeFlags(join(options.checkout, 'bin', 'isthmus.js')), join(options.checkout, 'bin', 'isthmus.js'), ...proxyArgs] };
  return startManagedProcess({ name: `isthmus (${workers} worker${workers === 1 ? '' : 's'})`, command, args, readyLine: parseProxyReady, readyTimeoutMs: 20_000, ...(options.onLine === undefined ? {} : { onLine: options.onLine }) });
}
