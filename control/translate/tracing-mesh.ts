// The mesh-wide tracing setting (`isthmus control --tracing-sampling PCT
// --tracing-zipkin HOST:PORT`) as Envoy config: every sidecar HTTP connection
// manager (inbound and outbound) gets `tracing` with the Zipkin provider
// (Zipkin v2 JSON to /api/v2/spans) and the sampling percentage, and every
// sidecar a cluster for the collector. Off (nothing added) when the sampling
// option is absent.
import { duration, socketAddress } from './envoy-values.js';
import type { IstioResource, Telemetry } from '../config/istio-types.js';

/** The proxies' collector cluster (Istio's bootstrap names it so too). */
export const TRACING_CLUSTER_NAME = 'zipkin';
const ZIPKIN_CONFIG_TYPE = 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig';
/** Zipkin's span API, which the control plane's admin port also serves. */
export const ZIPKIN_SPANS_PATH = '/api/v2/spans';

export interface MeshTracing {
  /** random_sampling, percent in [0, 100]. */
  readonly samplingPercent: number;
  /** The collector; port 0 until the control plane's own admin port is known (then no tracing is sent). */
  readonly collector: { host: string; port: number };
}

/** Parses HOST:PORT ([v6]:PORT too); a problem text when it is not one. */
export function parseCollectorAddress(text: string): { host: string; port: number } | string {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !(port >= 1 && port <= 65535)) return `must be HOST:PORT (e.g. 127.0.0.1:9411), got "${text}"`;
  return { host: (m[1] ?? m[2])!, port };
}

/** Parses the sampling percentage (0-100, decimals allowed); a problem text when it is not one. */
export function parseSamplingPercent(text: string): number | string {
  const n = /^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : NaN;
  return n >= 0 && n <= 100 ? n : `must be a percentage from 0 to 100, got "${text}"`;
}

function ready(tracing: MeshTracing | null): tracing is MeshTracing {
  return tracing !== null && tracing.collector.port !== 0;
}

/** The HCM's `tracing` field (spread into an HCM), or nothing when tracing is off. */
export function hcmTracing(tracing: MeshTracing | null): { tracing?: object } {
  if (!ready(tracing)) return {};
  return {
    tracing: {
      provider: {
        name: 'envoy.tracers.zipkin',
        typed_config: {
          '@type': ZIPKIN_CONFIG_TYPE,
          collector_cluster: TRACING_CLUSTER_NAME,
          collector_endpoint: ZIPKIN_SPANS_PATH,
          collector_endpoint_version: 'HTTP_JSON',
          // The Host of the reports: the collector's address (the control plane's admin API refuses unknown host names).
          collector_hostname: tracing.collector.host.includes(':') ? `[${tracing.collector.host}]` : tracing.collector.host,
          trace_id_128bit: true,
          shared_span_context: { value: true }, // a BoolValue: the control plane encodes wrappers as messages
        },
      },
      random_sampling: { value: tracing.samplingPercent },
    },
  };
}

/** The collector's cluster (STATIC for an address, STRICT_DNS for a name), or none when tracing is off. */
export function tracingClusters(tracing: MeshTracing | null): object[] {
  if (!ready(tracing)) return [];
  const { host, port } = tracing.collector;
  const isAddress = /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':');
  return [{
    name: TRACING_CLUSTER_NAME,
    type: isAddress ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: duration(1000),
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: TRACING_CLUSTER_NAME,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(host, port) } }] }],
    },
  }];
}

/** Istio's default sampling when a Telemetry turns tracing on without saying how much. */
const ISTIO_DEFAULT_SAMPLING = 1;

/**
 * The mesh's tracing: a Telemetry in the root namespace (the first by name) sets the sampling percentage over
 * --tracing-sampling, and turns tracing on without it; Telemetries elsewhere are not applied.
 */
export function effectiveTracing(
  options: { readonly tracing: MeshTracing | null; readonly tracingCollector?: { host: string; port: number }; readonly rootNamespace: string },
  resources: readonly IstioResource[],
): MeshTracing | null {
  const telemetry = resources
    .filter((r): r is Telemetry => r.kind === 'Telemetry' && r.metadata.namespace === options.rootNamespace && r.spec.tracing.length > 0)
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0))[0];
  if (telemetry === undefined) return options.tracing;
  const collector = options.tracing?.collector ?? options.tracingCollector;
  if (collector === undefined) return options.tracing;
  const samplingPercent = telemetry.spec.tracing[0]!.randomSamplingPercentage ?? options.tracing?.samplingPercent ?? ISTIO_DEFAULT_SAMPLING;
  return { samplingPercent, collector };
}
