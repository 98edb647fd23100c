// http_connection_manager.forward_client_cert_details and
// set_current_client_cert_details: what the x-forwarded-client-cert (XFCC)
// header carries upstream. Envoy's default is SANITIZE (any XFCC the client
// sent is removed); Istio's sidecar inbound listener says APPEND_FORWARD with
// subject, dns and uri, so the app learns the caller's SPIFFE ID.
import type { ObjectReader } from './yaml-reader.js';

export const FORWARD_CLIENT_CERT_MODES = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'] as const;
export type ForwardClientCertMode = (typeof FORWARD_CLIENT_CERT_MODES)[number];

export interface ClientCertDetails {
  readonly mode: ForwardClientCertMode;
  /** set_current_client_cert_details: which parts of the client certificate the new XFCC element names. */
  readonly subject: boolean;
  readonly cert: boolean;
  readonly chain: boolean;
  readonly dns: boolean;
  readonly uri: boolean;
}

export const DEFAULT_CLIENT_CERT_DETAILS: ClientCertDetails = Object.freeze({
  mode: 'SANITIZE', subject: false, cert: false, chain: false, dns: false, uri: false,
});

/** Reads both fields from an HttpConnectionManager; undefined after a problem. */
export function readClientCertDetails(hcm: ObjectReader): ClientCertDetails | undefined {
  const modeField = hcm.field('forward_client_cert_details');
  const mode = modeField.missing ? 'SANITIZE' : modeField.enumOf(FORWARD_CLIENT_CERT_MODES);
  const setField = hcm.field('set_current_client_cert_details');
  const details = { subject: false, cert: false, chain: false, dns: false, uri: false };
  let ok = mode !== undefined;
  const set = setField.object();
  if (set !== undefined) {
    for (const key of ['subject', 'cert', 'chain', 'dns', 'uri'] as const) {
      const f = set.field(key);
      if (f.missing) continue;
      // Envoy's subject is a BoolValue ({ value: true } in proto JSON); the others are plain bools.
      let value: boolean | undefined;
      if (f.isMap()) {
        const wrapper = f.object()!;
        value = wrapper.field('value').bool() ?? false;
        wrapper.done();
      } else value = f.bool();
      if (value === undefined) ok = false;
      else details[key] = value;
    }
    set.done();
    if (mode !== undefined && mode !== 'APPEND_FORWARD' && mode !== 'SANITIZE_SET') {
      setField.problem(`applies only with forward_client_cert_details APPEND_FORWARD or SANITIZE_SET (it is ${mode})`);
      ok = false;
    }
  } else if (!setField.missing) ok = false;
  if (!ok || mode === undefined) return undefined;
  if (mode === 'SANITIZE' && !Object.values(details).some(Boolean)) return DEFAULT_CLIENT_CERT_DETAILS;
  return { mode, ...details };
}
