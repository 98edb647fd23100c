// One VirtualService HTTPRoute: its matches, what it does (route to weighted
// destinations, redirect, or answer directly), and the policies on the way
// (rewrite, timeout, retries, fault, mirror, headers, CORS).

import { checkFieldValue, readUriText } from '../../src/config/head-text.js';
import type { ObjectReader, ValueReader } from '../../src/config/yaml-reader.js';
import { readDurationMs, readIstioStringMatch, readPercent, readStringList, type SpecContext } from './istio-fields.js';
import type {
  CorsPolicy, HttpDirectResponse, HttpFaultInjection, HttpRedirect, HttpRetry, HttpRewrite, HttpRoute, HttpRouteDestination,
  IstioStringMatch,
} from './istio-types.js';
import { NO_HEADERS, readDestination, readHeaders, readHttpMatch } from './http-match.js';

const REDIRECT_CODES = [301, 302, 303, 307, 308];
/** Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on conditions Istio passes through. */
const RETRY_ON = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'cancelled', 'deadline-exceeded', 'internal',
  'resource-exhausted', 'unavailable',
]);
const METHOD = /^[A-Z]+$/;

function readRouteDestination(v: ValueReader, cx: SpecContext, only: boolean): HttpRouteDestination | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const destinationField = obj.field('destination');
  destinationField.require();
  const destination = readDestination(destinationField, cx);
  const weightField = obj.field('weight');
  const weight = weightField.integer(0, 100);
  const headers = readHeaders(obj.field('headers'));
  obj.done();
  if (destination === undefined || (weight === undefined && !weightField.missing)) return undefined;
  // Istio: a lone destination without a weight takes all traffic; among several, an unwritten weight is 0.
  return { destination, weight: weight ?? (only ? 100 : 0), headers };
}

function readRewrite(v: ValueReader): HttpRewrite | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const uriField = obj.field('uri');
  const authorityField = obj.field('authority');
  const uri = readUriText(uriField, true);
  const authority = readUriText(authorityField, true);
  if (uriField.missing && authorityField.missing) v.problem('must set uri or authority');
  obj.done();
  return { ...(uri !== undefined ? { uri } : {}), ...(authority !== undefined ? { authority } : {}) };
}

function readRedirect(v: ValueReader): HttpRedirect | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const uriField = obj.field('uri');
  const authorityField = obj.field('authority');
  const uri = readUriText(uriField, true);
  const authority = readUriText(authorityField, true);
  const codeField = obj.field('redirectCode');
  const code = codeField.integer(100, 599);
  if (code !== undefined && !REDIRECT_CODES.includes(code)) codeField.problem(`must be one of ${REDIRECT_CODES.join(', ')}`);
  if (uriField.missing && authorityField.missing) v.problem('must set uri or authority');
  obj.done();
  return { ...(uri !== undefined ? { uri } : {}), ...(authority !== undefined ? { authority } : {}), redirectCode: code ?? 301 };
}

function readDirectResponse(v: ValueReader): HttpDirectResponse | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const statusField = obj.field('status');
  statusField.require();
  const status = statusField.integer(200, 599);
  let body: string | undefined;
  const bodyObj = obj.field('body').object();
  if (bodyObj !== undefined) {
    const stringField = bodyObj.field('string');
    stringField.require();
    body = stringField.string();
    bodyObj.done();
  }
  obj.done();
  if (status === undefined) return undefined;
  return { status, ...(body !== undefined ? { body } : {}) };
}

function readRetries(v: ValueReader): HttpRetry | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const attemptsField = obj.field('attempts');
  attemptsField.require();
  const attempts = attemptsField.integer(0, 1000);
  const perTry = obj.field('perTryTimeout');
  const perTryTimeoutMs = perTry.missing ? undefined : readDurationMs(perTry);
  const retryOnField = obj.field('retryOn');
  const text = retryOnField.nonEmptyString();
  const retryOn = text === undefined ? [] : text.split(',').map((s) => s.trim());
  const unknown = retryOn.filter((c) => !RETRY_ON.has(c) && !/^[1-5]\d\d$/.test(c));
  if (unknown.length > 0) retryOnField.problem(`names unknown retry conditions: ${unknown.join(', ')}`);
  obj.done();
  if (attempts === undefined) return undefined;
  return { attempts, ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}), retryOn };
}

function readFault(v: ValueReader): HttpFaultInjection | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const percentage = (o: ObjectReader): number => {
    const f = o.field('percentage');
    return f.missing ? 0 : (readPercent(f) ?? 0); // Istio: unwritten percentage injects into no request
  };
  let delay: HttpFaultInjection['delay'];
  const delayObj = obj.field('delay').object();
  if (delayObj !== undefined) {
    const fixedField = delayObj.field('fixedDelay');
    fixedField.require();
    const fixedDelayMs = fixedField.missing ? undefined : readDurationMs(fixedField);
    // `percent` (an integer) is deprecated but still in Istio's CRD and its request-timeouts task;
    // Istio uses it only when `percentage` is not set, and so do we.
    const percentField = delayObj.field('percent');
    const percent = percentField.integer(0, 100);
    const pct = delayObj.has('percentage') || percent === undefined ? percentage(delayObj) : percent;
    delayObj.done();
    if (fixedDelayMs !== undefined) delay = { percentage: pct, fixedDelayMs };
  }
  let abort: HttpFaultInjection['abort'];
  const abortObj = obj.field('abort').object();
  if (abortObj !== undefined) {
    const statusField = abortObj.field('httpStatus');
    statusField.require();
    const httpStatus = statusField.integer(200, 599);
    const pct = percentage(abortObj);
    abortObj.done();
    if (httpStatus !== undefined) abort = { percentage: pct, httpStatus };
  }
  if (delayObj === undefined && abortObj === undefined) v.problem('must set delay or abort');
  obj.done();
  return { ...(delay !== undefined ? { delay } : {}), ...(abort !== undefined ? { abort } : {}) };
}

function readCors(v: ValueReader): CorsPolicy | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const allowOrigins = obj.field('allowOrigins').list().map(readIstioStringMatch)
    .filter((m): m is IstioStringMatch => m !== undefined);
  const allowMethods = readStringList(obj.field('allowMethods'), (item, m) => {
    if (METHOD.test(m)) return m;
    item.problem(`must be an upper-case HTTP method: "${m}"`);
    return undefined;
  });
  // Written into CORS response headers one byte per character.
  const fieldValue = (item: ValueReader, text: string): string | undefined => (checkFieldValue(item, text, true) ? text : undefined);
  const allowHeaders = readStringList(obj.field('allowHeaders'), fieldValue);
  const exposeHeaders = readStringList(obj.field('exposeHeaders'), fieldValue);
  const maxAge = obj.field('maxAge');
  const maxAgeMs = maxAge.missing ? undefined : readDurationMs(maxAge);
  const allowCredentials = obj.field('allowCredentials').bool();
  obj.done();
  return {
    allowOrigins, allowMethods, allowHeaders, exposeHeaders,
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
    ...(allowCredentials !== undefined ? { allowCredentials } : {}),
  };
}

/** Reads field when present; undefined when missing (or wrong, after recording the problem). */
function optional<T>(obj: ObjectReader, name: string, read: (v: ValueReader) => T | undefined): T | undefined {
  const f = obj.field(name);
  return f.missing ? undefined : read(f);
}

export function readHttpRoute(v: ValueReader, cx: SpecContext): HttpRoute | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const name = obj.field('name').string() ?? '';
  const match = obj.field('match').list().map(readHttpMatch);
  const routeItems = obj.field('route').list();
  const route = routeItems.map((item) => readRouteDestination(item, cx, routeItems.length === 1));
  const action = obj.oneOf(['redirect', 'directResponse'], false);
  const redirect = optional(obj, 'redirect', readRedirect);
  const directResponse = optional(obj, 'directResponse', readDirectResponse);
  if (action !== undefined && action !== null && routeItems.length > 0) {
    obj.field('route').problem(`cannot be used with ${action} (a rule routes, redirects or responds)`);
  } else if (action === undefined && routeItems.length === 0) {
    v.problem('must set route, redirect or directResponse');
  }
  const rewrite = optional(obj, 'rewrite', readRewrite);
  if (rewrite !== undefined && action === 'redirect') obj.field('rewrite').problem('cannot be used with redirect');
  const timeoutMs = optional(obj, 'timeout', (f) => readDurationMs(f, true));
  const retries = optional(obj, 'retries', readRetries);
  const fault = optional(obj, 'fault', readFault);
  const mirror = optional(obj, 'mirror', (f) => readDestination(f, cx));
  const mirrorPctField = obj.field('mirrorPercentage');
  const mirrorPercentage = mirrorPctField.missing ? undefined : readPercent(mirrorPctField);
  if (!mirrorPctField.missing && obj.field('mirror').missing) mirrorPctField.problem('needs mirror');
  const headersField = obj.field('headers');
  const headers = headersField.missing ? NO_HEADERS : readHeaders(headersField);
  const corsPolicy = optional(obj, 'corsPolicy', readCors);
  // Deprecated in Istio since 1.0, where upgrades are allowed on every route: read (a boolean) and nothing more.
  obj.field('websocketUpgrade').bool();
  obj.done();
  if (match.includes(undefined) || route.includes(undefined)) return undefined;
  return {
    name,
    match: match as NonNullable<(typeof match)[number]>[],
    route: route as HttpRouteDestination[],
    ...(redirect !== undefined ? { redirect } : {}),
    ...(directResponse !== undefined ? { directResponse } : {}),
    ...(rewrite !== undefined ? { rewrite } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(retries !== undefined ? { retries } : {}),
    ...(fault !== undefined ? { fault } : {}),
    ...(mirror !== undefined ? { mirror, mirrorPercentage: mirrorPercentage ?? 100 } : {}),
    headers,
    ...(corsPolicy !== undefined ? { corsPolicy } : {}),
  };
}
