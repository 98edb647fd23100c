// The xDS protos and type URLs come from src/xds/ (shared with the sidecar's
// ADS client); what only the server needs (push order, wildcard rules) lives here.
import { TYPE_URL, type ResourceTypeUrl } from '../../src/xds/xds-protos.js';

export {
  ADS_SERVICE_NAME, loadXdsProtos, messageNameOf, TYPE_URL, TYPE_URL_PREFIX,
  type ResourceTypeUrl, type XdsProtos,
} from '../../src/xds/xds-protos.js';

/** Types a snapshot may hold, in make-before-break push order: what is referenced goes before what references it. */
export const PUSH_ORDER: readonly ResourceTypeUrl[] = [
  TYPE_URL.SECRET, // referenced by clusters' and listeners' transport sockets
  TYPE_URL.CLUSTER,
  TYPE_URL.ENDPOINT,
  TYPE_URL.LISTENER,
  TYPE_URL.ROUTE,
];

export function isResourceTypeUrl(typeUrl: string): typeUrl is ResourceTypeUrl {
  return (PUSH_ORDER as readonly string[]).includes(typeUrl);
}

/** Types whose empty subscription means "everything" (xDS legacy wildcard). */
export function isWildcardType(typeUrl: string): boolean {
  return typeUrl === TYPE_URL.LISTENER || typeUrl === TYPE_URL.CLUSTER;
}
