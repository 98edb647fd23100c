// The x-forwarded-client-cert (XFCC) header a request carries upstream, as
// Envoy's HTTP connection manager sets it (forward_client_cert_details):
// without a client certificate, or with SANITIZE (the default), any XFCC the
// client sent is removed, so no caller can claim an identity by header;
// FORWARD_ONLY and ALWAYS_FORWARD_ONLY pass it on; APPEND_FORWARD adds an
// element for this connection's client certificate, SANITIZE_SET replaces the
// header with it. The element is Envoy's: `By=<our URI SAN>;Hash=<SHA-256 of
// the client certificate>;Subject="...";URI=<its URI SAN>;DNS=<each DNS SAN>`.
import type { ClientCertDetails } from '../src/config/client-cert-details.js';
import { findHeader } from './header-block.js';
import type { DownstreamConnection } from './downstream-connection.js';

export const XFCC_HEADER = 'x-forwarded-client-cert';

/** What to do with XFCC upstream: null = forward what came, '' = remove it, other = remove it and send this value. */
export type XfccAction = string | null;

/** takes the chain's details, the connection and the received head; returns the XfccAction for this request. */
export function xfccFor(details: ClientCertDetails | undefined, conn: DownstreamConnection, buf: Buffer, out: Uint32Array): XfccAction {
  if (details === undefined) return '';
  if (details.mode === 'ALWAYS_FORWARD_ONLY') return null;
  const cert = details.mode === 'SANITIZE' ? null : conn.peerCertificate;
  if (cert === null) return '';
  if (details.mode === 'FORWARD_ONLY') return null;
  let element = '';
  const by = conn.localUriSan;
  if (by !== '') element = 'By=' + by + ';';
  element += 'Hash=' + cert.sha256.toLowerCase();
  // A quote or backslash inside a quoted value is escaped, as Envoy does.
  if (details.subject) element += ';Subject="' + cert.subject.replace(/["\\]/g, '\\$&') + '"';
  if (details.uri) for (const uri of cert.uriSans) element += ';URI=' + uri;
  if (details.dns) for (const dns of cert.dnsSans) element += ';DNS=' + dns;
  if (details.mode === 'SANITIZE_SET') return element;
  const received = findHeader(buf, out, XFCC_HEADER);
  return received === undefined || received === '' ? element : received + ',' + element;
}
