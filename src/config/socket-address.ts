// config.core.v3.Address holding a socket_address with an IP literal, or a DNS
// name in a DNS cluster (the agent resolves it): the proxy never resolves a
// name on the data path.

import { isIP } from 'node:net';
import type { SocketAddress } from './bootstrap-types.js';
import type { ValueReader } from './yaml-reader.js';

/** A DNS name as Envoy's STRICT_DNS / LOGICAL_DNS clusters take it (RFC 1123 labels, optional final dot). */
const DNS_NAME = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * config.core.v3.Address holding a socket_address; the address must be an IP
 * literal unless `names` says why a DNS name is allowed (the endpoints of DNS clusters).
 * Port 0 (kernel's choice) only where listening.
 */
export function readSocketAddress(v: ValueReader, allowPortZero: boolean, names: 'names' | 'no-names' | 'static-cluster' = 'no-names'): SocketAddress | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const sockField = obj.field('socket_address');
  sockField.require();
  const sock = sockField.object();
  obj.done();
  if (sock === undefined) return undefined;
  const addressField = sock.field('address');
  addressField.require();
  let address = addressField.nonEmptyString();
  if (address !== undefined) {
    if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
    if (isIP(address) === 0) {
      if (names === 'names' && DNS_NAME.test(address)) {
        // resolved by the agent
      } else if (names === 'names') {
        addressField.problem(`must be an IP address or a DNS name: "${address}"`);
        address = undefined;
      } else if (names === 'static-cluster' && DNS_NAME.test(address)) {
        addressField.problem(`must be an IP address literal (no DNS names): "${address}"; a DNS name needs cluster type STRICT_DNS or LOGICAL_DNS`);
        address = undefined;
      } else {
        addressField.problem(`must be an IP address literal (no DNS names): "${address}"`);
        address = undefined;
      }
    }
  }
  const portField = sock.field('port_value');
  portField.require();
  const port = portField.integer(allowPortZero ? 0 : 1, 65535);
  sock.field('protocol').enumOf(['TCP']);
  sock.done();
  if (address === undefined || port === undefined) return undefined;
  return { address, port };
}
