// VirtualService spec: the hosts it applies to and its HTTP rules. Only the
// mesh (sidecars) is in the subset, so `gateways` may only name "mesh".

import type { ValueReader } from '../../src/config/yaml-reader.js';
import { readHost, readRequiredList, type SpecContext } from './istio-fields.js';
import type { HostName, HttpRoute, VirtualServiceSpec } from './istio-types.js';
import { readHttpRoute } from './http-route.js';

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
  httpField.require();
  const httpItems = httpField.list();
  if (!httpField.missing && httpItems.length === 0) httpField.problem('must list at least one rule (tcp and tls rules are not in the subset)');
  const http = httpItems.map((item) => readHttpRoute(item, cx));
  obj.done();
  if (hosts.includes(undefined) || http.includes(undefined)) return undefined;
  return { hosts: hosts as HostName[], gateways: ['mesh'], http: http as HttpRoute[] };
}
