// Istio's locality failover as EDS priorities: with a DestinationRule's
// outlierDetection (and localityLbSetting not disabled), each locality's
// endpoints get a priority by how close they are to the proxy: 0 same
// region/zone/subzone, 1 same region and zone, 2 same region, 3 another
// region (the `to` region of a failover rule from the proxy's region), 4 the
// rest when such a rule exists. Gaps are closed so priorities run 0, 1, 2...
// The data plane then keeps traffic in priority 0 while it is healthy enough
// and spills over by Envoy's overprovisioning rule when it is not.
import type { Locality } from '../registry/registry-types.js';
import type { LocalityLbSetting, TrafficPolicy } from '../config/istio-types.js';

function rawPriority(proxy: Locality, endpoint: Locality | undefined, failover: LocalityLbSetting['failover']): number {
  let priority = 3;
  if (endpoint !== undefined && endpoint.region === proxy.region) {
    priority = endpoint.zone !== proxy.zone ? 2 : endpoint.subZone !== proxy.subZone ? 1 : 0;
  }
  if (priority === 3) {
    const rule = failover.find((f) => f.from === proxy.region);
    if (rule !== undefined && endpoint?.region !== rule.to) priority = 4;
  }
  return priority;
}

/** True when this policy asks for locality priorities for a proxy at `locality` (Istio: failover needs outlier detection). */
export function localityFailoverApplies(policy: TrafficPolicy, locality: Locality | undefined): locality is Locality {
  return locality !== undefined && policy.outlierDetection !== undefined && policy.localityLbSetting?.enabled !== false;
}

/** One priority per locality group (same order), consecutive from 0. */
export function localityPriorities(proxy: Locality, groups: readonly (Locality | undefined)[], policy: TrafficPolicy): number[] {
  const failover = policy.localityLbSetting?.failover ?? [];
  const raw = groups.map((g) => rawPriority(proxy, g, failover));
  const used = [...new Set(raw)].sort((a, b) => a - b);
  return raw.map((p) => used.indexOf(p));
}
