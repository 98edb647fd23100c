// config.cluster.v3.Cluster, STATIC only: endpoints are IP literals listed
// in load_assignment, so the proxy never resolves a name on the data path.

import { isIP } from 'node:net';
import type { CircuitBreakers, Cluster, Endpoint, LbPolicy, Locality, SocketAddress } from './bootstrap-types.js';
import type { ValueReader } from './yaml-reader.js';

/** Envoy's default connect_timeout. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const LB_POLICIES: readonly LbPolicy[] = ['ROUND_ROBIN', 'RANDOM', 'LEAST_REQUEST'];
const NO_LOCALITY: Locality = { region: '', zone: '', subZone: '' };
/** Envoy's circuit-breaker defaults. */
export const DEFAULT_CIRCUIT_BREAKERS: CircuitBreakers = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  retryBudget: null,
};

/**
 * config.core.v3.Address holding a socket_address; the address must be an IP
 * literal (no DNS). Port 0 (kernel's choice) only where listening.
 */
export function readSocketAddress(v: ValueReader, allowPortZero: boolean): SocketAddress | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const sockField = obj.field('socket_address');
  sockField.require();
  const sock = sockField.object();
  obj.done();
  if (sock === undefined) return undefined;
  const addressField = sock.field('address');
  addressField.require();
  let address = addressField.nonEmptyString();
  if (address !== undefined) {
    if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
    if (isIP(address) === 0) {
      addressField.problem(`must be an IP address literal (no DNS names): "${address}"`);
      address = undefined;
    }
  }
  const portField = sock.field('port_value');
  portField.require();
  const port = portField.integer(allowPortZero ? 0 : 1, 65535);
  sock.field('protocol').enumOf(['TCP']);
  sock.done();
  if (address === undefined || port === undefined) return undefined;
  return { address, port };
}

function readEndpoints(v: ValueReader): Endpoint[] | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('cluster_name');
  nameField.require();
  nameField.nonEmptyString();
  const endpoints: Endpoint[] = [];
  let ok = true;
  for (const locality of obj.field('endpoints').list()) {
    const lo = locality.object();
    if (lo === undefined) {
      ok = false;
      continue;
    }
    for (const item of lo.field('lb_endpoints').list()) {
      const lb = item.object();
      if (lb === undefined) {
        ok = false;
        continue;
      }
      const endpointField = lb.field('endpoint');
      endpointField.require();
      const endpoint = endpointField.object();
      let address: SocketAddress | undefined;
      if (endpoint !== undefined) {
        const addressField = endpoint.field('address');
        addressField.require();
        address = readSocketAddress(addressField, false);
        endpoint.done();
      }
      const weight = lb.field('load_balancing_weight').integer(1, 4_294_967_295);
      const weightGiven = lb.has('load_balancing_weight');
      lb.done();
      if (address === undefined || (weightGiven && weight === undefined)) ok = false;
      else endpoints.push({ address: address.address, port: address.port, weight: weight ?? 1, locality: NO_LOCALITY, priority: 0 });
    }
    lo.done();
  }
  obj.done();
  return ok ? endpoints : undefined;
}

/** config.cluster.v3.Cluster */
export function readCluster(v: ValueReader): Cluster | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('name');
  nameField.require();
  const name = nameField.nonEmptyString();
  const typeField = obj.field('type');
  const type = typeField.missing ? 'STATIC' : typeField.enumOf(['STATIC'] as const);
  const connectField = obj.field('connect_timeout');
  const connectTimeoutMs = connectField.duration() ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (connectTimeoutMs <= 0) connectField.problem('must be greater than 0');
  const lbField = obj.field('lb_policy');
  const lbPolicy = lbField.missing ? 'ROUND_ROBIN' : lbField.enumOf(LB_POLICIES);
  const assignment = obj.field('load_assignment');
  assignment.require();
  const endpoints = readEndpoints(assignment);
  obj.done();
  if (name === undefined || type === undefined || lbPolicy === undefined || endpoints === undefined || connectTimeoutMs <= 0) {
    return undefined;
  }
  return {
    name,
    type,
    connectTimeoutMs,
    lbPolicy,
    ringHash: { minRingSize: 1024, maxRingSize: 8_388_608 },
    maglevTableSize: 65_537,
    peakEwmaDecayMs: 10_000,
    circuitBreakers: DEFAULT_CIRCUIT_BREAKERS,
    outlierDetection: null,
    healthCheck: null,
    healthyPanicThresholdPercent: 50,
    overprovisioningFactor: 140,
    endpoints,
  };
}
