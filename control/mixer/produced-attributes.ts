// Which attribute names someone fills in: the sidecar's policy filter per
// request (workers/filters/mixer/request-attribute-bag.ts), the statics the
// control plane writes into that filter (translate/mixer-filter.ts), the
// control plane's own derivation of the source workload
// (workload-attribute-bag.ts) and the ext_authz mapping. The vocabulary has
// more (Istio's full list); a rule reading one of those is accepted but
// always sees it absent, so `isthmus analyze` and the policy load warn.
import { isComputedAttribute } from '../../workers/filters/mixer/request-attribute-bag.js';
import { mixerHttpFilter } from '../translate/mixer-filter.js';
import { isWorkloadAttribute } from './workload-attribute-bag.js';

/** Set by the ext_authz mapping (ext-authz-attributes.ts) and not by the proxy's filter. */
const EXT_AUTHZ_ONLY = ['destination.principal'];

let produced: ReadonlySet<string> | null = null;

/** The names the policy filter's statics carry, read off the filter the translation writes. */
function staticNames(): string[] {
  const filter = mixerHttpFilter(
    { checkAttributes: [], reportAttributes: [], quotas: [], hasCheckRules: true, hasReportRules: true },
    { id: 'x', namespace: 'x', labels: {} },
    { host: 'x.x.svc.cluster.local', namespace: 'x', ports: [], addresses: [], source: 'config' },
  ) as { typed_config?: { mixer_attributes?: { attributes?: Record<string, unknown> } } } | null;
  return Object.keys(filter?.typed_config?.mixer_attributes?.attributes ?? {});
}

/** Whether any part of the mesh ever sets `name`. */
export function isProducedAttribute(name: string): boolean {
  produced ??= new Set([...staticNames(), ...EXT_AUTHZ_ONLY]);
  return produced.has(name) || isComputedAttribute(name) || isWorkloadAttribute(name);
}
