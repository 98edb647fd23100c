// Which apiVersion serves which kind: PeerAuthentication and AuthorizationPolicy are security.istio.io's,
// handler/instance/rule are config.istio.io/v1alpha2's (Mixer's), every other
// kind is networking.istio.io's.
import type { IstioApiVersion, IstioKind } from './istio-types.js';
import { POLICY_API_VERSION, POLICY_KINDS } from './mixer-types.js';

const SECURITY_KINDS: readonly IstioKind[] = ['PeerAuthentication', 'AuthorizationPolicy'];

function groupOf(kind: IstioKind): string {
  if (kind === 'Telemetry') return 'telemetry.istio.io/v1alpha1 or /v1';
  if (SECURITY_KINDS.includes(kind)) return 'security.istio.io/v1beta1 or /v1';
  if ((POLICY_KINDS as readonly string[]).includes(kind)) return POLICY_API_VERSION;
  return 'networking.istio.io/v1alpha3, /v1beta1 or /v1';
}

/** Takes a resource's apiVersion and kind; returns the problem message when that version does not serve the kind, else null. */
export function apiVersionServes(apiVersion: IstioApiVersion, kind: IstioKind): string | null {
  const want = groupOf(kind);
  const ok = kind === 'Telemetry' ? apiVersion.startsWith('telemetry.')
    : SECURITY_KINDS.includes(kind) ? apiVersion.startsWith('security.')
    : want === POLICY_API_VERSION ? apiVersion === POLICY_API_VERSION
      : apiVersion.startsWith('networking.');
  return ok ? null : `"${apiVersion}" does not serve ${kind} (${want})`;
}
