// VirtualService `tcp` and `tls` rules: which connections they take (the
// service port, and for TLS the ClientHello's SNI) and the weighted
// destinations they go to, as Istio's TCPRoute and TLSRoute.
// `destinationSubnets` is refused by name: without traffic capture every
// connection reaches the sidecar on its own outbound address, so a
// destination IP says nothing.
import { isScalar } from 'yaml';
import type { ValueReader } from '../../src/config/yaml-reader.js';
import { readHost, readRequiredList, type SpecContext } from './istio-fields.js';
import { readDestination } from './http-match.js';
import type { HostName, L4RouteDestination, TcpRoute, TlsMatch, TlsRoute } from './istio-types.js';

function readL4Destination(v: ValueReader, cx: SpecContext, only: boolean): L4RouteDestination | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const destinationField = obj.field('destination');
  destinationField.require();
  const destination = readDestination(destinationField, cx);
  const weightField = obj.field('weight');
  const weight = weightField.integer(0, 100);
  obj.done();
  if (destination === undefined || (weight === undefined && !weightField.missing)) return undefined;
  // Istio: a lone destination without a weight takes all traffic; among several, an unwritten weight is 0.
  return { destination, weight: weight ?? (only ? 100 : 0) };
}

function readDestinations(v: ValueReader, cx: SpecContext): L4RouteDestination[] | undefined {
  const items = readRequiredList(v, 'destination');
  const out = items.map((item) => readL4Destination(item, cx, items.length === 1));
  if (out.includes(undefined)) return undefined;
  const list = out as L4RouteDestination[];
  if (list.length > 1) {
    const total = list.reduce((sum, d) => sum + d.weight, 0);
    if (total !== 100) {
      v.problem(`weights sum to ${total} (${list.map((d) => d.weight).join(' + ')}), not 100`);
      return undefined;
    }
  }
  return list;
}

/** L4MatchAttributes' `port` (and the refused `destinationSubnets`); returns the port, null for any, undefined when invalid. */
function readPortMatch(obj: ReturnType<ValueReader['object']> & object): number | null | undefined {
  const subnets = obj.field('destinationSubnets');
  if (!subnets.missing) {
    subnets.problem('is not supported: without traffic capture a connection reaches the sidecar on its outbound address, so its destination IP cannot select a rule; match on port');
    return undefined;
  }
  const portField = obj.field('port');
  if (portField.missing) return null;
  return portField.integer(1, 65535);
}

/** One TCPRoute: `match[]` ({port}) and `route[]` (weighted destinations). */
export function readTcpRoute(v: ValueReader, cx: SpecContext): TcpRoute | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const ports: (number | null)[] = [];
  let ok = true;
  for (const item of obj.field('match').list()) {
    const m = item.object();
    if (m === undefined) {
      ok = false;
      continue;
    }
    const port = readPortMatch(m);
    m.done();
    if (port === undefined) ok = false;
    else ports.push(port);
  }
  const route = readDestinations(obj.field('route'), cx);
  obj.done();
  if (!ok || route === undefined) return undefined;
  return { ports: ports.includes(null) ? [] : ports as number[], route };
}

/** One TLSRoute: `match[]` ({sniHosts (required), port, gateways}) and `route[]`; meshBound: "*" SNI refused. */
/** A match's `gateways`: "mesh" or `namespace/name` (a bare name in the VirtualService's namespace). */
function readMatchGateways(v: ValueReader, cx: SpecContext): string[] {
  const out: string[] = [];
  for (const item of v.list()) {
    const name = item.nonEmptyString();
    if (name === undefined) continue;
    if (name === 'mesh') out.push(name);
    else if (!GATEWAY_NAME.test(name)) item.problem(`must be "mesh", a Gateway name or "namespace/name": "${name}"`);
    else out.push(name.includes('/') ? name : `${cx.namespace}/${name}`);
  }
  return out;
}

const GATEWAY_NAME = /^(?:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function readTlsRoute(v: ValueReader, cx: SpecContext, meshBound = true): TlsRoute | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const matches: TlsMatch[] = [];
  let ok = true;
  for (const item of readRequiredList(obj.field('match'), 'match')) {
    const m = item.object();
    if (m === undefined) {
      ok = false;
      continue;
    }
    // "*" (any SNI name) only for gateways, as a VirtualService's own "*" host.
    const hosts = readRequiredList(m.field('sniHosts'), 'SNI host').map((h): HostName | undefined =>
      (!meshBound && isScalar(h.node) && h.node.value === '*' ? { written: '*', fqdn: '*' } : readHost(h, cx, true)));
    const port = readPortMatch(m);
    const gateways = readMatchGateways(m.field('gateways'), cx);
    m.done();
    if (hosts.includes(undefined) || port === undefined) ok = false;
    else matches.push({ sniHosts: hosts as HostName[], port, gateways });
  }
  const route = readDestinations(obj.field('route'), cx);
  obj.done();
  if (!ok || route === undefined) return undefined;
  return { matches, route };
}
