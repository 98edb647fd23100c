// Which PeerAuthentication applies to a workload's port, as Istio resolves
// it: the workload's own (a selector matching its labels, in its namespace;
// the oldest, here the first by name, when several do), then its namespace's
// (no selector), then the mesh's (no selector, in the root namespace). A
// level that says UNSET, or a port not in portLevelMtls, defers to the level
// above; nothing said at all is PERMISSIVE, Istio's default.
import type { MtlsMode, PeerAuthentication, StringMap } from '../config/istio-types.js';
import { labelsMatch } from '../registry/registry-types.js';

/** Istio's label on a workload whose sidecar has a mesh identity (auto mTLS sends it mTLS). */
export const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
export const TLS_MODE_ISTIO = 'istio';

export type EffectiveMtlsMode = Exclude<MtlsMode, 'UNSET'>;

/** The mode of one PeerAuthentication for a port: its portLevelMtls entry first, then its mtls. */
function modeOf(pa: PeerAuthentication, port: number): MtlsMode {
  const byPort = pa.spec.portLevelMtls?.[String(port)];
  if (byPort !== undefined && byPort !== 'UNSET') return byPort;
  return pa.spec.mtls ?? 'UNSET';
}

/** PeerAuthentications sorted by namespace/name. */
export function effectiveMtlsMode(
  all: readonly PeerAuthentication[], rootNamespace: string, namespace: string, labels: StringMap, port: number,
): EffectiveMtlsMode {
  const workload = all.find((pa) => pa.metadata.namespace === namespace && pa.spec.selector !== undefined
    && Object.keys(pa.spec.selector).length > 0 && labelsMatch(pa.spec.selector, labels));
  const ns = all.find((pa) => pa.metadata.namespace === namespace && pa.spec.selector === undefined);
  const mesh = all.find((pa) => pa.metadata.namespace === rootNamespace && pa.spec.selector === undefined);
  for (const pa of [workload, ns, mesh]) {
    if (pa === undefined) continue;
    const mode = modeOf(pa, port);
    if (mode !== 'UNSET') return mode;
  }
  return 'PERMISSIVE';
}

/** The workload has a mesh identity (its proxy got a certificate): it can take and make mTLS. */
export function hasMeshIdentity(labels: StringMap): boolean {
  return labels[TLS_MODE_LABEL] === TLS_MODE_ISTIO;
}
