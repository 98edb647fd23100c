// A VirtualService's `tls` and `tcp` rules: connections routed without HTTP,
// by the SNI of their ClientHello (tls) or by port alone (tcp), to weighted
// destinations. Gateways use them for PASSTHROUGH and TCP servers.
import type { ValueReader } from '../../src/config/yaml-reader.js';
import { hostNameProblem, readLabels, readRequiredList, type SpecContext } from './istio-fields.js';
import type { L4MatchAttributes, L4RouteDestination, TcpRoute, TlsMatchAttributes, TlsRoute } from './istio-types.js';
import { readDestination } from './http-match.js';

const GATEWAY_NAME = /^(?:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function readDestinations(v: ValueReader, cx: SpecContext): L4RouteDestination[] | undefined {
  const items = readRequiredList(v, 'destination');
  const out: L4RouteDestination[] = [];
  let ok = items.length > 0;
  for (const item of items) {
    const obj = item.object();
    if (obj === undefined) {
      ok = false;
      continue;
    }
    const destField = obj.field('destination');
    destField.require();
    const destination = readDestination(destField, cx);
    const weightField = obj.field('weight');
    const weight = weightField.integer(0, 100);
    obj.done();
    if (destination === undefined || (weight === undefined && !weightField.missing)) ok = false;
    else out.push({ destination, weight: weight ?? (items.length === 1 ? 100 : 0) });
  }
  if (ok && items.length > 1 && out.reduce((s, d) => s + d.weight, 0) !== 100) v.problem('weights must add up to 100');
  return ok ? out : undefined;
}

/** port, sourceLabels and gateways, from a tls or tcp match (the caller reads its other fields and calls done()). */
function readCommonMatch(obj: NonNullable<ReturnType<ValueReader['object']>>, cx: SpecContext): L4MatchAttributes {
  const port = obj.field('port').integer(1, 65535);
  const sourceLabels = readLabels(obj.field('sourceLabels'));
  const gateways: string[] = [];
  for (const item of obj.field('gateways').list()) {
    const name = item.nonEmptyString();
    if (name === undefined) continue;
    if (name === 'mesh') gateways.push(name);
    else if (!GATEWAY_NAME.test(name)) item.problem(`must be "mesh", a Gateway name or "namespace/name": "${name}"`);
    else gateways.push(name.includes('/') ? name : `${cx.namespace}/${name}`);
  }
  for (const name of ['destinationSubnets', 'sourceNamespace']) {
    const f = obj.field(name);
    if (!f.missing) f.problem('is not supported');
  }
  return { ...(port !== undefined ? { port } : {}), sourceLabels, gateways };
}

export function readTlsRoute(v: ValueReader, cx: SpecContext): TlsRoute | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const matchItems = readRequiredList(obj.field('match'), 'match');
  const match: TlsMatchAttributes[] = [];
  let ok = true;
  for (const item of matchItems) {
    const m = item.object();
    if (m === undefined) {
      ok = false;
      continue;
    }
    const sniItems = readRequiredList(m.field('sniHosts'), 'SNI host');
    const sniHosts: string[] = [];
    for (const s of sniItems) {
      const text = s.nonEmptyString();
      if (text === undefined) continue;
      const problem = hostNameProblem(text, true);
      if (problem !== null) s.problem(problem);
      else sniHosts.push(text.toLowerCase());
    }
    const common = readCommonMatch(m, cx);
    m.done();
    if (sniHosts.length === 0 || sniHosts.length !== sniItems.length) ok = false;
    else match.push({ ...common, sniHosts });
  }
  const route = readDestinations(obj.field('route'), cx);
  obj.done();
  return ok && route !== undefined ? { match, route } : undefined;
}

export function readTcpRoute(v: ValueReader, cx: SpecContext): TcpRoute | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const match: L4MatchAttributes[] = [];
  for (const item of obj.field('match').list()) {
    const m = item.object();
    if (m === undefined) continue;
    match.push(readCommonMatch(m, cx));
    m.done();
  }
  const route = readDestinations(obj.field('route'), cx);
  obj.done();
  return route !== undefined ? { match, route } : undefined;
}
