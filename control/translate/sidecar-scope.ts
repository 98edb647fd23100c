// Sidecar egress scoping: which services a proxy receives config for. With no
// Sidecar every service is visible (Istio's default); with one, only hosts its
// egress list names: Istio's main lever on a proxy's memory and push cost.
import type { Sidecar } from '../config/istio-types.js';
import type { RegistryService } from '../registry/registry-types.js';
import { hostMatches } from './mesh-config.js';

/** True when the sidecar (or no sidecar) lets a proxy see the service. */
export function sidecarAllows(sidecar: Sidecar | undefined, service: RegistryService): boolean {
  if (sidecar === undefined) return true;
  for (const listener of sidecar.spec.egress) {
    for (const h of listener.hosts) {
      if (h.namespace === '~') continue;
      if (h.namespace !== '*' && h.namespace !== service.namespace) continue;
      if (hostMatches(h.dnsName, service.host)) return true;
    }
  }
  return false;
}

/** The services a proxy may see, in the order given. */
export function scopeServices(sidecar: Sidecar | undefined, services: readonly RegistryService[]): RegistryService[] {
  return sidecar === undefined ? services.slice() : services.filter((s) => sidecarAllows(sidecar, s));
}
