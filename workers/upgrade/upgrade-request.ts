// HTTP upgrades as Envoy's connection manager treats them: a request with
// `Connection: upgrade` + `Upgrade: <type>` whose type the HCM's
// upgrade_configs lists (and the route does not disable), or the route's
// upgrade_configs enables, is sent to the route's cluster on a connection of
// its own with its Upgrade headers, and from then on the client's connection
// relays bytes both ways (the upstream's 101 and the WebSocket frames pass
// through as they are). A type neither lists is forwarded as a plain request
// without the Upgrade header; one the route disables gets 403. CONNECT is
// refused (404, as a request no route takes) unless an upgrade_configs lists
// CONNECT; then the proxy answers 200 once the upstream connected and tunnels.
import type { ListenerHcm, RouteAction } from '../../src/config/bootstrap-types.js';
import type { TcpProxyConfig } from '../../src/config/tcp-proxy.js';
import { UPGRADE_ALLOWED, UPGRADE_NOT_CONFIGURED, upgradeVerdict } from '../../src/config/upgrade-config.js';
import { FLAG } from '../../src/native.js';
import type { ActiveRequest } from '../active-request.js';
import { upstreamHeadFor } from '../forwarded-heads.js';
import { findHeader } from '../header-block.js';
import { LocalReply } from '../local-reply.js';

const UPGRADE_FLAGS = FLAG.UPGRADE | FLAG.CONNECTION_UPGRADE;
const CONNECT_ESTABLISHED = Buffer.from('HTTP/1.1 200 OK\r\n\r\n', 'latin1');

/** Whether the request asks for an upgrade (or is a CONNECT): only then is tryUpgrade called. */
export function wantsUpgrade(flags: number, method: string): boolean {
  return (flags & UPGRADE_FLAGS) === UPGRADE_FLAGS || method === 'CONNECT';
}

/**
 * takes a routed request asking for an upgrade; returns true when it was answered (404, 403) or became a
 * tunnel, false when it goes on as a plain request (the type is not configured: the Upgrade header is dropped).
 */
export function tryUpgrade(req: ActiveRequest, buf: Buffer, out: Uint32Array, flags: number, action: RouteAction, hcm: ListenerHcm): boolean {
  const connect = req.method === 'CONNECT';
  const type = connect ? 'connect' : (findHeader(buf, out, 'upgrade') ?? '').trim().toLowerCase();
  const verdict = upgradeVerdict(hcm.upgrades, action.upgrades, type);
  if (verdict === UPGRADE_NOT_CONFIGURED) {
    if (!connect) return false;
    req.replyFailure(LocalReply.NO_ROUTE);
    return true;
  }
  if (verdict !== UPGRADE_ALLOWED || req.receivingBody) {
    req.replyFailure(LocalReply.UPGRADE_FAILED);
    return true;
  }
  let first: Buffer | null = null;
  if (!connect) {
    const head = upstreamHeadFor(req, buf, out, flags, action, false);
    if (head === null) {
      req.replyFailure(LocalReply.UNSAFE_ROUTE_HEAD);
      return true;
    }
    // The head ends in the blank line: the upgrade's own hop-by-hop headers go in before it.
    const upgradeValue = findHeader(buf, out, 'upgrade') ?? type;
    first = Buffer.concat([head.subarray(0, head.length - 2), Buffer.from(`connection: upgrade\r\nupgrade: ${upgradeValue}\r\n\r\n`, 'latin1')]);
  }
  const config: TcpProxyConfig = {
    statPrefix: hcm.statPrefix,
    clusters: action.clusters,
    totalWeight: action.totalWeight,
    idleTimeoutMs: hcm.streamIdleTimeoutMs,
    maxConnectAttempts: 1,
    accessLog: false,
  };
  req.conn.startTunnel(config, first, connect ? CONNECT_ESTABLISHED : null);
  return true;
}
