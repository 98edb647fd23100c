// upgrade_configs on the HTTP connection manager
// (HttpConnectionManager.UpgradeConfig) and on a route
// (RouteAction.UpgradeConfig): which Upgrade types (websocket, CONNECT) are
// relayed as bytes once the upstream agrees. Envoy's rule: a route's entry
// overrides the HCM's, also for a type the HCM does not list.
import type { ValueReader } from './yaml-reader.js';

export interface UpgradeConfig {
  /** Lowercased ("websocket", "connect"). */
  readonly upgradeType: string;
  /** enabled; default true. */
  readonly enabled: boolean;
}

/**
 * Reads a list of UpgradeConfig (the HCM's or, with onRoute, a route's). A route's CONNECT entry may carry an
 * empty connect_config: the proxy ends the CONNECT and relays its payload as raw TCP, which is what it does.
 */
export function readUpgradeConfigs(v: ValueReader, onRoute = false): UpgradeConfig[] | undefined {
  const out: UpgradeConfig[] = [];
  let ok = true;
  for (const item of v.list()) {
    const obj = item.object();
    if (obj === undefined) {
      ok = false;
      continue;
    }
    const typeField = obj.field('upgrade_type');
    typeField.require();
    const upgradeType = typeField.nonEmptyString()?.toLowerCase();
    const enabledField = obj.field('enabled');
    // HCM's `enabled` is a BoolValue (JSON: a bool); the route's too.
    const enabled = enabledField.missing ? true : enabledField.bool();
    if (onRoute && obj.has('connect_config')) {
      const connectField = obj.field('connect_config');
      if (upgradeType !== 'connect') connectField.problem(`applies to upgrade_type CONNECT, not "${upgradeType ?? ''}"`);
      // proxy_protocol_config and allow_post are left unread: done() names them as not supported.
      else connectField.object()?.done();
    }
    obj.done();
    if (upgradeType === undefined || enabled === undefined) ok = false;
    else if (out.some((u) => u.upgradeType === upgradeType)) {
      typeField.problem(`lists upgrade type "${upgradeType}" twice`);
      ok = false;
    } else out.push({ upgradeType, enabled });
  }
  return ok ? out : undefined;
}

export const UPGRADE_NOT_CONFIGURED = 0; // forwarded as a plain request, the Upgrade header stripped
export const UPGRADE_REFUSED = 1; // 403, as Envoy (downstream_rq_ws_on_non_ws_route)
export const UPGRADE_ALLOWED = 2;

/**
 * takes the HCM's and the route's upgrade_configs and a request's upgrade type (lowercased); returns UPGRADE_*.
 * A route's entry decides (Envoy's createUpgradeFilterChain): it enables a type the HCM does not list (Envoy's
 * websocket sandbox's envoy-ws-route.yaml) or disables one it does; without one, the HCM's entry decides.
 */
export function upgradeVerdict(hcm: readonly UpgradeConfig[], route: readonly UpgradeConfig[], upgradeType: string): number {
  const override = route.find((u) => u.upgradeType === upgradeType);
  if (override !== undefined) return override.enabled ? UPGRADE_ALLOWED : UPGRADE_REFUSED;
  const listed = hcm.find((u) => u.upgradeType === upgradeType);
  if (listed === undefined) return UPGRADE_NOT_CONFIGURED;
  return listed.enabled ? UPGRADE_ALLOWED : UPGRADE_REFUSED;
}
