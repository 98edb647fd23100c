// config.core.v3.Address holding a socket_address with an IP literal: the
// proxy never resolves a name on the data path.

import { isIP } from 'node:net';
import type { SocketAddress } from './bootstrap-types.js';
import type { ValueReader } from './yaml-reader.js';

/**
 * config.core.v3.Address holding a socket_address; the address must be an IP
 * literal (no DNS). Port 0 (kernel's choice) only where listening.
 */
export function readSocketAddress(v: ValueReader, allowPortZero: boolean): SocketAddress | undefined {
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
      addressField.problem(`must be an IP address literal (no DNS names): "${address}"`);
      address = undefined;
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
