// Which VirtualService routes a host that several of them name. istiod
// accepts them all and, for sidecars (the "mesh" gateway), uses one per host
// (the oldest) and ignores the others for it; `istioctl analyze` reports
// each conflict as IST0109 ConflictingMeshGatewayVirtualServiceHosts at
// level Error. Here the oldest is the one the control plane has served the
// longest (source.servedSince, kept in its store across restarts), then the
// first by namespace and name, so a newly applied VirtualService cannot take
// a host away from one already serving it. Files read by `isthmus analyze`
// have no history: they are ordered as a control plane starting on them
// would order them. The translation (mesh-config.ts), analyze and the
// control plane's status all use this one order, so what they say is what
// the proxies get.

import { MESH_GATEWAY, type VirtualService } from './istio-types.js';

/** Istio's message code and name, as `istioctl analyze` prints them. */
export const IST0109 = 'IST0109 ConflictingMeshGatewayVirtualServiceHosts';

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The services in the order they claim hosts: the first naming a host routes it. */
export function byPrecedence<T extends VirtualService>(services: readonly T[]): T[] {
  return [...services].sort((a, b) =>
    compareText(a.source.servedSince ?? '', b.source.servedSince ?? '')
    || compareText(a.metadata.namespace, b.metadata.namespace)
    || compareText(a.metadata.name, b.metadata.name));
}

export interface HostConflict {
  /** The VirtualService ignored for `host`. */
  readonly ignored: VirtualService;
  /** Index of the host in ignored.spec.hosts. */
  readonly index: number;
  readonly host: string;
  /** The VirtualService that routes `host`, and the host's index in its spec.hosts. */
  readonly used: VirtualService;
  readonly usedIndex: number;
}

/** Every host named by two or more mesh-bound VirtualServices, once per VirtualService that loses it (gateways merge them instead). */
export function hostConflicts(services: readonly VirtualService[]): HostConflict[] {
  const owner = new Map<string, { used: VirtualService; usedIndex: number }>();
  const out: HostConflict[] = [];
  for (const vs of byPrecedence(services)) {
    if (!vs.spec.gateways.includes(MESH_GATEWAY)) continue;
    vs.spec.hosts.forEach((h, index) => {
      const first = owner.get(h.fqdn);
      if (first === undefined) owner.set(h.fqdn, { used: vs, usedIndex: index });
      else if (first.used !== vs) out.push({ ignored: vs, index, host: h.fqdn, ...first });
    });
  }
  return out;
}
