// Which VirtualService routes a host that several of them name. istiod
// accepts them all and, for sidecars (the "mesh" gateway), uses one per host
// and ignores the others for it; `istioctl analyze` reports each conflict as
// IST0109 ConflictingMeshGatewayVirtualServiceHosts at level Error. Istio
// picks the oldest by creation time, then by namespace and name; resources
// here carry no creation time (a folder's files have none), so the order is
// namespace, then name. The translation (mesh-config.ts), `isthmus analyze`
// and the control plane's status all use this one order, so what analyze
// and `isthmus apply` say is what the proxies get.

import type { VirtualService } from './istio-types.js';

/** Istio's message code and name, as `istioctl analyze` prints them. */
export const IST0109 = 'IST0109 ConflictingMeshGatewayVirtualServiceHosts';

function precedenceKey(vs: VirtualService): string {
  return `${vs.metadata.namespace}/${vs.metadata.name}`;
}

/** The services in the order they claim hosts: the first naming a host routes it. */
export function byPrecedence<T extends VirtualService>(services: readonly T[]): T[] {
  return [...services].sort((a, b) => {
    const ka = precedenceKey(a);
    const kb = precedenceKey(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
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

/** Every host named by two or more VirtualServices, once per VirtualService that loses it. */
export function hostConflicts(services: readonly VirtualService[]): HostConflict[] {
  const owner = new Map<string, { used: VirtualService; usedIndex: number }>();
  const out: HostConflict[] = [];
  for (const vs of byPrecedence(services)) {
    vs.spec.hosts.forEach((h, index) => {
      const first = owner.get(h.fqdn);
      if (first === undefined) owner.set(h.fqdn, { used: vs, usedIndex: index });
      else if (first.used !== vs) out.push({ ignored: vs, index, host: h.fqdn, ...first });
    });
  }
  return out;
}
