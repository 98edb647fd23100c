// config.cluster.v3.Cluster: STATIC (IP literals in load_assignment), or
// STRICT_DNS / LOGICAL_DNS, whose names the agent resolves and hands to the
// workers as endpoints: the proxy never resolves a name on the data path.
// The resilience fields each have their own reader (circuit breakers, outlier
// detection, health checks, balancer fields, load assignment).

import type { Cluster } from './bootstrap-types.js';
import { DEFAULT_CIRCUIT_BREAKERS, readCircuitBreakers } from './circuit-breakers.js';
import { readHealthChecks } from './health-check.js';
import { readDnsSettings } from './dns-settings.js';
import { readLbFields } from './lb-config.js';
import { readLoadAssignment } from './load-assignment.js';
import { readOutlierDetection } from './outlier-detection.js';
import { readUpstreamTransportSocket } from './tls-context.js';
import { readClusterProtocolOptions } from './http2-options.js';
import { readClusterRequestLimit } from './common-http-options.js';
import type { ValueReader } from './yaml-reader.js';

export { DEFAULT_CIRCUIT_BREAKERS } from './circuit-breakers.js';
export { readSocketAddress } from './socket-address.js';

/** Envoy's default connect_timeout. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** config.cluster.v3.Cluster */
export function readCluster(v: ValueReader): Cluster | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('name');
  nameField.require();
  const name = nameField.nonEmptyString();
  const typeField = obj.field('type');
  const type = typeField.missing ? 'STATIC' : typeField.enumOf(['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'ORIGINAL_DST', 'EDS'] as const);
  if (type === 'ORIGINAL_DST' || type === 'EDS') {
    typeField.problem(type === 'EDS' ? 'EDS needs a control plane (isthmus proxy --control); in a file use STATIC, STRICT_DNS or LOGICAL_DNS' : 'ORIGINAL_DST is not supported (STATIC, STRICT_DNS, LOGICAL_DNS)');
  }
  const known = type === 'ORIGINAL_DST' || type === 'EDS' ? undefined : type;
  const connectField = obj.field('connect_timeout');
  const connectTimeoutMs = connectField.duration() ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (connectTimeoutMs <= 0) connectField.problem('must be greater than 0');
  const socketField = obj.field('transport_socket');
  const tls = socketField.missing ? null : readUpstreamTransportSocket(socketField);
  const lb = readLbFields(obj);
  const breakersField = obj.field('circuit_breakers');
  const circuitBreakers = breakersField.missing ? DEFAULT_CIRCUIT_BREAKERS : readCircuitBreakers(breakersField);
  const outlierField = obj.field('outlier_detection');
  const outlierDetection = outlierField.missing ? null : readOutlierDetection(outlierField);
  const healthCheck = readHealthChecks(obj.field('health_checks'));
  const protocolOptions = readClusterProtocolOptions(obj.field('typed_extension_protocol_options'));
  const maxRequestsPerConnection = readClusterRequestLimit(obj, protocolOptions?.common);
  const assignmentField = obj.field('load_assignment');
  assignmentField.require();
  const assignment = readLoadAssignment(assignmentField, known ?? 'STATIC');
  const dns = readDnsSettings(obj, known, assignment?.targets ?? []);
  obj.done();
  if (name === undefined || known === undefined || dns === undefined || lb === undefined || circuitBreakers === undefined
    || tls === undefined || protocolOptions === undefined || maxRequestsPerConnection === undefined || outlierDetection === undefined || healthCheck === undefined || assignment === undefined || connectTimeoutMs <= 0) {
    return undefined;
  }
  return {
    name,
    type: known,
    dns,
    connectTimeoutMs,
    tls,
    ...lb,
    circuitBreakers,
    outlierDetection,
    healthCheck,
    overprovisioningFactor: assignment.overprovisioningFactor,
    endpoints: assignment.endpoints,
    upstreamProtocol: protocolOptions.protocol,
    upstreamHttp2: protocolOptions.http2,
    upstreamIdleTimeoutMs: protocolOptions.common.idleTimeoutMs,
    maxRequestsPerConnection,
  };
}
