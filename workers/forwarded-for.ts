// Envoy's x-forwarded-for rules (HTTP connection manager use_remote_address,
// xff_num_trusted_hops, skip_xff_append): whether the proxy appends the peer's
// address to XFF, which address is the trusted client address, whether the
// request is internal (x-envoy-internal) and x-envoy-external-address.
// A client-supplied XFF is never trusted beyond the configured hops.
import { isIPv4, isIPv6 } from 'node:net';
import type { ForwardingConfig } from '../src/config/bootstrap-types.js';

/** What goes upstream; filled per request into one object per worker (no allocation per request). */
export interface ForwardedFor {
  /** The x-forwarded-for value to send ('' = send none). */
  xff: string;
  /** The trusted client address (Envoy's "downstream remote address" as filters see it). */
  trustedClient: string;
  /** x-envoy-internal: true is sent; otherwise any received one is dropped. */
  internal: boolean;
  /** x-envoy-external-address to set ('' = leave the received header alone). */
  externalAddress: string;
}

const result: ForwardedFor = { xff: '', trustedClient: '', internal: false, externalAddress: '' };

/** RFC 1918 / RFC 4193 addresses and loopback, as Envoy's isInternalAddress. */
export function isInternalAddress(address: string): boolean {
  if (isIPv4(address)) {
    if (address.startsWith('10.') || address.startsWith('192.168.') || address === '127.0.0.1') return true;
    if (address.startsWith('172.')) {
      const second = Number(address.slice(4, address.indexOf('.', 4)));
      return second >= 16 && second <= 31;
    }
    return false;
  }
  if (isIPv6(address)) {
    const lower = address.toLowerCase();
    return lower === '::1' || lower.startsWith('fd');
  }
  return false;
}

/** The address `n` places from the right end of an XFF list (1 = the last); '' when the list is shorter or the entry is no IP. */
function fromRight(xff: string, n: number): string {
  let end = xff.length;
  for (let i = 1; ; i++) {
    const comma = xff.lastIndexOf(',', end - 1);
    if (i === n) {
      const entry = xff.slice(comma + 1, end).trim();
      return isIPv4(entry) || isIPv6(entry) ? entry : '';
    }
    if (comma < 0) return '';
    end = comma;
  }
}

/** Takes the received XFF ('' when none), the peer's address and the HCM's settings; returns the shared result. */
export function forwardedFor(received: string, peer: string, config: ForwardingConfig): ForwardedFor {
  const r = result;
  const hops = config.xffNumTrustedHops;
  if (config.useRemoteAddress) {
    const trusted = hops === 0 ? '' : fromRight(received, hops);
    r.trustedClient = trusted === '' ? peer : trusted;
    r.internal = received === '' && isInternalAddress(peer);
    r.externalAddress = r.internal ? '' : r.trustedClient;
    r.xff = config.skipXffAppend ? received : received === '' ? peer : received + ', ' + peer;
  } else {
    // Transparent: XFF passes unchanged; the trusted client comes from it (the last entry, or hops + 1 from the right).
    const trusted = received === '' ? '' : fromRight(received, hops + 1);
    r.trustedClient = trusted === '' ? peer : trusted;
    r.internal = received !== '' && received.indexOf(',') < 0 && trusted !== '' && isInternalAddress(trusted);
    r.externalAddress = '';
    r.xff = received;
  }
  return r;
}
