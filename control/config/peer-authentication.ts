// PeerAuthentication spec (security.istio.io v1beta1/v1): whether a
// workload's sidecar accepts mTLS, plaintext or both on its inbound port.
// Mesh-wide in the root namespace, namespace-wide without a selector, per
// workload with `selector.matchLabels`, per workload port with `portLevelMtls`
// (which Istio allows only beside a selector).
import type { ValueReader } from '../../src/config/yaml-reader.js';
import { markLine, readLabels, type SpecContext } from './istio-fields.js';
import type { MtlsMode, PeerAuthenticationSpec } from './istio-types.js';

export const MTLS_MODES = ['UNSET', 'DISABLE', 'PERMISSIVE', 'STRICT'] as const;

/** `{ mode: ... }` (MutualTLS); a missing mode is UNSET, as in Istio. */
function readMutualTls(v: ValueReader): MtlsMode | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const modeField = obj.field('mode');
  const mode = modeField.missing ? 'UNSET' : modeField.enumOf(MTLS_MODES);
  obj.done();
  return mode;
}

/** portLevelMtls: keys are port numbers (YAML writes them as integers or strings). */
function readPortLevel(v: ValueReader): Record<string, MtlsMode> | undefined {
  const out: Record<string, MtlsMode> = {};
  const obj = v.object();
  if (obj === undefined) return undefined;
  let ok = true;
  for (const key of obj.keys()) {
    const field = obj.field(key);
    if (!/^\d{1,5}$/.test(key) || Number(key) < 1 || Number(key) > 65535) {
      field.problem(`is not a port number (1-65535): "${key}"`);
      ok = false;
      continue;
    }
    const mode = readMutualTls(field);
    if (mode === undefined) ok = false;
    else out[String(Number(key))] = mode;
  }
  obj.done();
  return ok ? out : undefined;
}

export function readPeerAuthenticationSpec(v: ValueReader, cx: SpecContext): PeerAuthenticationSpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  let selector: Record<string, string> | undefined;
  const selectorField = obj.field('selector');
  if (!selectorField.missing) {
    const sel = selectorField.object();
    if (sel !== undefined) {
      const labelsField = sel.field('matchLabels');
      markLine(cx, labelsField);
      selector = readLabels(labelsField);
      sel.done();
    }
  }
  const mtlsField = obj.field('mtls');
  const mtls = mtlsField.missing ? undefined : readMutualTls(mtlsField);
  const portField = obj.field('portLevelMtls');
  const portLevelMtls = portField.missing ? undefined : readPortLevel(portField);
  if (!portField.missing && selector === undefined) {
    portField.problem('needs a selector: Istio applies port-level mTLS only to selected workloads');
  }
  obj.done();
  if ((!mtlsField.missing && mtls === undefined) || (!portField.missing && (portLevelMtls === undefined || selector === undefined))) return undefined;
  return {
    ...(selector !== undefined ? { selector } : {}),
    ...(mtls !== undefined ? { mtls } : {}),
    ...(portLevelMtls !== undefined ? { portLevelMtls } : {}),
  };
}
