// VirtualService HTTPMatchRequest and the header/destination pieces a route
// shares with its destinations: Destination, and Headers (set/add/remove on
// request and response).

import { readFieldValue } from '../../src/config/head-text.js';
import type { ValueReader } from '../../src/config/yaml-reader.js';
import { markLine, readFreeMap, readHost, readIstioStringMatch, readLabels, readStringList, type SpecContext } from './istio-fields.js';
import type { Destination, HeaderOperations, HeaderValue, Headers, HttpMatchRequest, NamedStringMatch } from './istio-types.js';

/** Istio's header-name rule (no pseudo-headers); stored lowercased. */
const HEADER_NAME = /^[-_A-Za-z0-9]+$/;
const EMPTY_OPERATIONS: HeaderOperations = { set: [], add: [], remove: [] };
export const NO_HEADERS: Headers = { request: EMPTY_OPERATIONS, response: EMPTY_OPERATIONS };

function headerNameProblem(name: string): string | null {
  return HEADER_NAME.test(name) ? null : `is not a valid header name: "${name}"`;
}

function readNamedMatches(v: ValueReader, headerNames: boolean): NamedStringMatch[] {
  const out: NamedStringMatch[] = [];
  readFreeMap(v, (value, key) => {
    const problem = headerNames ? headerNameProblem(key) : null;
    if (problem !== null) {
      value.problem(problem);
      return undefined;
    }
    const match = readIstioStringMatch(value);
    if (match !== undefined) out.push({ name: headerNames ? key.toLowerCase() : key, match });
    return match;
  });
  return out;
}

/** One HTTPMatchRequest; all its conditions must hold. */
export function readHttpMatch(v: ValueReader): HttpMatchRequest | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const name = obj.field('name').string() ?? '';
  const opt = (field: string) => {
    const f = obj.field(field);
    return f.missing ? undefined : readIstioStringMatch(f);
  };
  const uri = opt('uri');
  const method = opt('method');
  const authority = opt('authority');
  const headers = readNamedMatches(obj.field('headers'), true);
  const queryParams = readNamedMatches(obj.field('queryParams'), false);
  const sourceLabels = readLabels(obj.field('sourceLabels'));
  // The port the request came in on: the sidecar's virtual host port, or the gateway server's port.
  const port = obj.field('port').integer(1, 65535);
  const gatewaysField = obj.field('gateways');
  if (!gatewaysField.missing) gatewaysField.problem('is not supported (bind the whole VirtualService with spec.gateways)');
  obj.done();
  return {
    name,
    ...(port !== undefined ? { port } : {}),
    ...(uri !== undefined ? { uri } : {}),
    ...(method !== undefined ? { method } : {}),
    ...(authority !== undefined ? { authority } : {}),
    headers,
    queryParams,
    sourceLabels,
  };
}

/** A route or mirror destination; its line noted for analysis. */
export function readDestination(v: ValueReader, cx: SpecContext): Destination | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  markLine(cx, v);
  const hostField = obj.field('host');
  hostField.require();
  const host = readHost(hostField, cx, false);
  const subsetField = obj.field('subset');
  const subset = subsetField.nonEmptyString();
  const portField = obj.field('port');
  let port: number | undefined;
  const portObj = portField.object();
  if (portObj !== undefined) {
    const numberField = portObj.field('number');
    numberField.require();
    port = numberField.integer(1, 65535);
    portObj.done();
  }
  obj.done();
  if (host === undefined) return undefined;
  return { host, ...(subset !== undefined ? { subset } : {}), ...(port !== undefined ? { port } : {}) };
}

function readHeaderValues(v: ValueReader): HeaderValue[] {
  const out: HeaderValue[] = [];
  readFreeMap(v, (value, key) => {
    const problem = headerNameProblem(key);
    if (problem !== null) {
      value.problem(problem);
      return undefined;
    }
    const text = readFieldValue(value, false); // translated to header mutations, written as UTF-8
    if (text !== undefined) out.push({ name: key.toLowerCase(), value: text });
    return text;
  });
  return out;
}

function readOperations(v: ValueReader): HeaderOperations {
  const obj = v.object();
  if (obj === undefined) return EMPTY_OPERATIONS;
  const set = readHeaderValues(obj.field('set'));
  const add = readHeaderValues(obj.field('add'));
  const remove = readStringList(obj.field('remove'), (item, name) => {
    const problem = headerNameProblem(name);
    if (problem !== null) item.problem(problem);
    return problem === null ? name.toLowerCase() : undefined;
  });
  obj.done();
  return { set, add, remove };
}

/** Istio's Headers: request and response operations. */
export function readHeaders(v: ValueReader): Headers {
  const obj = v.object();
  if (obj === undefined) return NO_HEADERS;
  const request = readOperations(obj.field('request'));
  const response = readOperations(obj.field('response'));
  obj.done();
  return { request, response };
}
