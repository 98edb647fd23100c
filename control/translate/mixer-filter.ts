// The proxy's policy filter (isthmus.filters.http.mixer) in a sidecar's
// inbound HTTP connection manager, as Istio's Pilot wrote its mixer filter:
// only when the policy has rules, before the router, with the destination
// workload's attributes fixed in mixer_attributes (the proxy learns nothing
// about its own workload from requests) and the attribute names the rules
// read (summarizePolicy, control/mixer/policy-summary.ts), so the proxy
// computes and sends those alone. check_cluster stays empty: the proxy asks
// the control plane it gets xDS from.
import type { RegistryService } from '../registry/registry-types.js';
import type { ProxyIdentity } from './mesh-config.js';
import { DEFAULT_MESH_POLICY_CHECK, mixerTransport, type MeshPolicyCheck } from './policy-check-mesh.js';

export const MIXER_FILTER = 'isthmus.filters.http.mixer';
export const MIXER_TYPE = 'type.googleapis.com/isthmus.mixer.v1.config.client.HttpClientConfig';

/** What summarizePolicy() tells the translation (the shape helper "expr" exports). */
export interface PolicySummary {
  readonly checkAttributes: readonly string[];
  readonly reportAttributes: readonly string[];
  readonly quotas: readonly { readonly quota: string; readonly charge: number }[];
  readonly hasCheckRules: boolean;
  readonly hasReportRules: boolean;
}

const str = (value: string): object => ({ string_value: value });

/** takes the policy summary, the proxy, its service and the mesh's fail policy; returns the filter (an http_filters entry), or null when no rule needs it. */
export function mixerHttpFilter(
  summary: PolicySummary | null | undefined, proxy: ProxyIdentity, service: RegistryService, policyCheck: MeshPolicyCheck = DEFAULT_MESH_POLICY_CHECK,
): object | null {
  if (summary == null) return null;
  const check = summary.hasCheckRules || summary.quotas.length > 0;
  if (!check && !summary.hasReportRules) return null;
  const name = service.host.split('.')[0] ?? service.host;
  const workload = proxy.labels.app ?? name;
  const attributes: Record<string, object> = {
    'destination.service.host': str(service.host),
    'destination.service.name': str(name),
    'destination.service.namespace': str(service.namespace),
    'destination.labels': { string_map_value: { entries: { ...proxy.labels } } },
    'destination.workload.name': str(workload),
    'destination.workload.namespace': str(proxy.namespace),
    'destination.uid': str(`isthmus://${proxy.id}`),
    'destination.namespace': str(proxy.namespace),
    'context.reporter.kind': str('inbound'),
  };
  return {
    name: MIXER_FILTER,
    typed_config: {
      '@type': MIXER_TYPE,
      transport: mixerTransport(policyCheck),
      mixer_attributes: { attributes },
      check_attributes: [...summary.checkAttributes],
      report_attributes: [...summary.reportAttributes],
      quotas: summary.quotas.map((q) => ({ quota: q.quota, charge: q.charge })),
      disable_check_calls: !check,
      disable_report_calls: !summary.hasReportRules,
    },
  };
}
