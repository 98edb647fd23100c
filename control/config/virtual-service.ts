// VirtualService spec: the hosts it applies to, the gateways it is bound to
// ("mesh" for sidecars, Gateway names for gateway proxies), its HTTP rules and
// its tls (by SNI) and tcp rules.

import { isScalar } from 'yaml';
import type { ValueReader } from '../../src/config/yaml-reader.js';
import { markLine, readHost, readRequiredList, type SpecContext } from './istio-fields.js';
import { MESH_GATEWAY, type HostName, type HttpRoute, type TcpRoute, type TlsRoute, type VirtualServiceSpec } from './istio-types.js';
import { readTcpRoute, readTlsRoute } from './l4-route.js';
import { readHttpRoute } from './http-route.js';

const GATEWAY_NAME = /^(?:([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/)?([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?)$/;

/** "mesh", or a Gateway as `namespace/name` (a bare name is in the VirtualService's namespace, as in Istio). */
function readGateways(v: ValueReader, cx: SpecContext): string[] {
  if (v.missing) return [MESH_GATEWAY];
  const out: string[] = [];
  v.list().forEach((item) => {
    const name = item.nonEmptyString();
    if (name === undefined) return;
    if (name === MESH_GATEWAY) {
      out.push(name);
      return;
    }
    const m = GATEWAY_NAME.exec(name);
    if (m === null) {
      item.problem(`must be "mesh", a Gateway name or "namespace/name": "${name}"`);
      return;
    }
    markLine(cx, item);
    out.push(m[1] === undefined ? `${cx.namespace}/${name}` : name);
  });
  return out;
}

export function readVirtualServiceSpec(v: ValueReader, cx: SpecContext): VirtualServiceSpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const gateways = readGateways(obj.field('gateways'), cx);
  const meshBound = gateways.includes(MESH_GATEWAY);
  const hosts = readRequiredList(obj.field('hosts'), 'host').map((item): HostName | undefined => {
    // Istio: "*" (any host) is allowed for gateways, not for sidecars.
    if (!meshBound && isScalar(item.node) && item.node.value === '*') {
      markLine(cx, item);
      return { written: '*', fqdn: '*' };
    }
    return readHost(item, cx, true);
  });
  const httpField = obj.field('http');
  const tcpField = obj.field('tcp');
  const tlsField = obj.field('tls');
  const httpItems = httpField.list();
  const tcpItems = tcpField.list();
  const tlsItems = tlsField.list();
  if (httpItems.length + tcpItems.length + tlsItems.length === 0) httpField.problem('is missing: a VirtualService needs at least one http, tcp or tls rule');
  const http = httpItems.map((item) => readHttpRoute(item, cx));
  const tcp = tcpItems.map((item) => readTcpRoute(item, cx));
  const tls = tlsItems.map((item) => readTlsRoute(item, cx, meshBound));
  obj.done();
  if (hosts.includes(undefined) || http.includes(undefined) || tls.includes(undefined) || tcp.includes(undefined)) return undefined;
  return { hosts: hosts as HostName[], gateways, http: http as HttpRoute[], tls: tls as TlsRoute[], tcp: tcp as TcpRoute[] };
}
