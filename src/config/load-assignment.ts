// endpoint.v3.ClusterLoadAssignment (a cluster's load_assignment, or an EDS
// resource): endpoints grouped by locality and priority, and the
// overprovisioning factor used for priority spill-over.

import type { ClusterType, DnsTarget, Endpoint, Locality } from './bootstrap-types.js';
import { readSocketAddress } from './socket-address.js';
import { UINT32_MAX, type ValueReader } from './yaml-reader.js';

/** Envoy's limit on priority levels (LocalityLbEndpoints.priority lte 128). */
const MAX_PRIORITY = 128;
/** Envoy's default overprovisioning_factor, percent (1.4). */
export const DEFAULT_OVERPROVISIONING_FACTOR = 140;
const NO_LOCALITY: Locality = Object.freeze({ region: '', zone: '', subZone: '' });

export interface LoadAssignment {
  /** A STATIC cluster's (or EDS resource's) endpoints; empty for DNS clusters, whose endpoints are `targets` resolved. */
  readonly endpoints: readonly Endpoint[];
  /** A STRICT_DNS / LOGICAL_DNS cluster's names (IP literals included) to resolve. */
  readonly targets: readonly DnsTarget[];
  readonly overprovisioningFactor: number;
}

/** config.core.v3.Locality; every part optional ("" when not given). */
function readLocality(v: ValueReader): Locality | undefined {
  if (v.missing) return NO_LOCALITY;
  const obj = v.object();
  if (obj === undefined) return undefined;
  let ok = true;
  const part = (name: string): string => {
    const f = obj.field(name);
    const value = f.string();
    if (value === undefined && !f.missing) ok = false;
    return value ?? '';
  };
  const region = part('region');
  const zone = part('zone');
  const subZone = part('sub_zone');
  obj.done();
  if (!ok) return undefined;
  return { region, zone, subZone };
}

/** One LocalityLbEndpoints' lb_endpoints; false after reporting a problem. */
function readLbEndpoints(v: ValueReader, locality: Locality, priority: number, localityWeight: number | undefined, type: ClusterType, out: Endpoint[], targets: DnsTarget[]): boolean {
  const lw = localityWeight === undefined ? {} : { localityWeight };
  let ok = true;
  for (const item of v.list()) {
    const lb = item.object();
    if (lb === undefined) {
      ok = false;
      continue;
    }
    const endpointField = lb.field('endpoint');
    endpointField.require();
    const endpoint = endpointField.object();
    let address: ReturnType<typeof readSocketAddress>;
    let hostname: string | undefined;
    let hostnameOk = true;
    if (endpoint !== undefined) {
      const addressField = endpoint.field('address');
      addressField.require();
      address = readSocketAddress(addressField, false, type === 'STATIC' ? 'static-cluster' : 'names');
      const hostnameField = endpoint.field('hostname');
      hostname = hostnameField.string();
      if (hostname === undefined && !hostnameField.missing) hostnameOk = false;
      // health_check_config: health checks go to the endpoint's own port; the same port written here is accepted.
      const hcField = endpoint.field('health_check_config');
      if (!hcField.missing) {
        const hc = hcField.object();
        const portField = hc?.field('port_value');
        const hcPort = portField?.integer(0, 65535);
        hc?.done();
        if (hcPort !== undefined && hcPort !== 0 && address !== undefined && hcPort !== address.port) {
          portField!.problem(`is ${hcPort}, a port other than the endpoint's (${address.port}); health checks on a separate port are not supported`);
          hostnameOk = false;
        }
      }
      endpoint.done();
    }
    const weight = lb.field('load_balancing_weight').integer(1, UINT32_MAX);
    const weightGiven = lb.has('load_balancing_weight');
    lb.done();
    if (address === undefined || !hostnameOk || (weightGiven && weight === undefined)) ok = false;
    else if (type !== 'STATIC') {
      targets.push({ name: address.address, port: address.port, weight: weight ?? 1, locality, priority, hostname: hostname || address.address, ...lw });
    } else {
      out.push({ address: address.address, port: address.port, weight: weight ?? 1, locality, priority, ...(hostname ? { hostname } : {}), ...lw });
    }
  }
  return ok;
}

/** Envoy requires priorities to be contiguous from 0: P1 without P0 is an error. */
function checkContiguous(used: ReadonlyMap<number, ValueReader>): boolean {
  const levels = [...used.keys()].sort((a, b) => a - b);
  for (let i = 0; i < levels.length; i++) {
    if (levels[i] !== i) {
      used.get(levels[i]!)!.problem(`is ${levels[i]}, but priority ${i} has no endpoints group; priorities must be contiguous from 0`);
      return false;
    }
  }
  return true;
}

/** endpoint.v3.ClusterLoadAssignment.Policy: only overprovisioning_factor. */
function readPolicy(v: ValueReader): number | undefined {
  if (v.missing) return DEFAULT_OVERPROVISIONING_FACTOR;
  const obj = v.object();
  if (obj === undefined) return undefined;
  const f = obj.field('overprovisioning_factor');
  const factor = f.integer(1, UINT32_MAX);
  obj.done();
  return factor ?? (f.missing ? DEFAULT_OVERPROVISIONING_FACTOR : undefined);
}

/** endpoint.v3.ClusterLoadAssignment; a DNS cluster's endpoints may be names (returned as `targets`). */
export function readLoadAssignment(v: ValueReader, type: ClusterType = 'STATIC'): LoadAssignment | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('cluster_name');
  nameField.require();
  nameField.nonEmptyString();
  const endpointsField = obj.field('endpoints');
  const endpoints: Endpoint[] = [];
  const targets: DnsTarget[] = [];
  const priorities = new Map<number, ValueReader>();
  let ok = true;
  for (const group of endpointsField.list()) {
    const lo = group.object();
    if (lo === undefined) {
      ok = false;
      continue;
    }
    const locality = readLocality(lo.field('locality'));
    const priorityField = lo.field('priority');
    const priority = priorityField.integer(0, MAX_PRIORITY) ?? (priorityField.missing ? 0 : undefined);
    // The locality's own weight: used when the cluster sets common_lb_config.locality_weighted_lb_config.
    const localityWeightField = lo.field('load_balancing_weight');
    const localityWeight = localityWeightField.integer(1, UINT32_MAX);
    if (localityWeight === undefined && !localityWeightField.missing) ok = false;
    if (locality === undefined || priority === undefined) {
      ok = false;
      lo.field('lb_endpoints');
      lo.done();
      continue;
    }
    if (!priorities.has(priority)) priorities.set(priority, priorityField);
    if (!readLbEndpoints(lo.field('lb_endpoints'), locality, priority, localityWeight, type, endpoints, targets)) ok = false;
    lo.done();
  }
  if (ok && !checkContiguous(priorities)) ok = false;
  const overprovisioningFactor = readPolicy(obj.field('policy'));
  obj.done();
  if (type === 'LOGICAL_DNS' && ok && targets.length !== 1) {
    endpointsField.problem(`must hold exactly one endpoint in a LOGICAL_DNS cluster (has ${targets.length})`);
    ok = false;
  }
  if (!ok || overprovisioningFactor === undefined) return undefined;
  return { endpoints, targets, overprovisioningFactor };
}
