// VirtualService spec: the hosts it applies to and its HTTP, TCP and TLS rules. Only the
// mesh (sidecars) is in the subset, so `gateways` may only name "mesh".

import type { ValueReader } from '../../src/config/yaml-reader.js';
import { readHost, readRequiredList, type SpecContext } from './istio-fields.js';
import type { HostName, HttpRoute, TcpRoute, TlsRoute, VirtualServiceSpec } from './istio-types.js';
import { readHttpRoute } from './http-route.js';
import { readTcpRoute, readTlsRoute } from './l4-route.js';

function checkGateways(v: ValueReader): void {
  v.list().forEach((item) => {
    const name = item.string();
    if (name !== undefined && name !== 'mesh') {
      item.problem(`names gateway "${name}": only "mesh" (sidecars) is supported; ingress/egress gateways are not in the subset`);
    }
  });
}

export function readVirtualServiceSpec(v: ValueReader, cx: SpecContext): VirtualServiceSpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const hosts = readRequiredList(obj.field('hosts'), 'host').map((item) => readHost(item, cx, true));
  checkGateways(obj.field('gateways'));
  const httpField = obj.field('http');
  const tcpField = obj.field('tcp');
  const tlsField = obj.field('tls');
  const httpItems = httpField.list();
  const tcpItems = tcpField.list();
  const tlsItems = tlsField.list();
  if (httpItems.length + tcpItems.length + tlsItems.length === 0) httpField.problem('is missing: a VirtualService needs at least one http, tcp or tls rule');
  const http = httpItems.map((item) => readHttpRoute(item, cx));
  const tcp = tcpItems.map((item) => readTcpRoute(item, cx));
  const tls = tlsItems.map((item) => readTlsRoute(item, cx));
  obj.done();
  if (hosts.includes(undefined) || http.includes(undefined) || tcp.includes(undefined) || tls.includes(undefined)) return undefined;
  return { hosts: hosts as HostName[], gateways: ['mesh'], http: http as HttpRoute[], tcp: tcp as TcpRoute[], tls: tls as TlsRoute[] };
}
