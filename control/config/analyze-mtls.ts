// `isthmus analyze` for mTLS, as istioctl warns: a DestinationRule that tells
// clients to send plaintext (trafficPolicy.tls.mode DISABLE, for the host or
// a subset) to workloads whose PeerAuthentication is STRICT; their sidecars
// refuse every such request.
import { effectiveMtlsMode } from '../translate/peer-authentication-policy.js';
import type { DestinationRule, IstioResource, PeerAuthentication, ServiceEntry, StringMap } from './istio-types.js';

export interface MtlsFinding {
  readonly resource: DestinationRule;
  readonly message: string;
}

/** The namespace and workload labels a host's endpoints have, when the config says (a ServiceEntry, or `name.ns.svc...`). */
function hostWorkloads(host: string, entries: readonly ServiceEntry[]): { namespace: string; labels: StringMap } | undefined {
  const entry = entries.find((e) => e.spec.hosts.some((h) => h.fqdn === host));
  if (entry !== undefined) return { namespace: entry.metadata.namespace, labels: entry.spec.workloadSelector?.labels ?? {} };
  const parts = host.split('.');
  if (parts.length >= 3 && parts[2] === 'svc') return { namespace: parts[1]!, labels: { app: parts[0]! } };
  return undefined;
}

/** Takes every resource and the root namespace; returns a warning per DestinationRule (or subset) saying DISABLE to a STRICT workload. */
export function checkMtlsConflicts(resources: readonly IstioResource[], rootNamespace: string): MtlsFinding[] {
  const policies = resources.filter((r): r is PeerAuthentication => r.kind === 'PeerAuthentication')
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1);
  if (policies.length === 0) return [];
  const entries = resources.filter((r): r is ServiceEntry => r.kind === 'ServiceEntry');
  const out: MtlsFinding[] = [];
  for (const dr of resources.filter((r): r is DestinationRule => r.kind === 'DestinationRule')) {
    const target = hostWorkloads(dr.spec.host.fqdn, entries);
    if (target === undefined) continue;
    const disabled: string[] = [];
    if (dr.spec.trafficPolicy?.tls?.mode === 'DISABLE') disabled.push('spec.trafficPolicy.tls.mode');
    dr.spec.subsets.forEach((s, i) => {
      if (s.trafficPolicy?.tls?.mode === 'DISABLE') disabled.push(`spec.subsets[${i}].trafficPolicy.tls.mode`);
    });
    if (disabled.length === 0) continue;
    // The workload-level mode (no port: portLevelMtls needs the workload port, which a DestinationRule does not name).
    const mode = effectiveMtlsMode(policies, rootNamespace, target.namespace, target.labels, 0);
    if (mode !== 'STRICT') continue;
    for (const path of disabled) {
      out.push({
        resource: dr,
        message: `${path} is DISABLE, but the workloads of ${dr.spec.host.fqdn} (namespace ${target.namespace}) are STRICT by PeerAuthentication: `
          + 'their sidecars refuse the plaintext these clients send (IST0113 MTLSPolicyConflict); use ISTIO_MUTUAL or leave tls unset',
      });
    }
  }
  return out;
}
