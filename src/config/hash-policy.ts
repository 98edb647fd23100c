// config.route.v3.RouteAction.HashPolicy: what a RING_HASH or MAGLEV cluster
// hashes a request on (a header, a cookie, the source IP or a query parameter).

import type { HashPolicy } from './bootstrap-types.js';
import { isUriTextSafe } from './head-text.js';
import { readHeaderName } from './string-match.js';
import type { ValueReader } from './yaml-reader.js';

const KINDS = ['header', 'cookie', 'connection_properties', 'query_parameter', 'filter_state'] as const;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** One HashPolicy; null when it hashes nothing (connection_properties with source_ip false, as Envoy treats it). */
function readHashPolicy(v: ValueReader): HashPolicy | null | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const terminal = obj.field('terminal').bool() ?? false;
  const kind = obj.oneOf(KINDS, true);
  let result: HashPolicy | null | undefined;
  const f = kind === undefined || kind === null ? undefined : obj.field(kind);
  const inner = kind === 'filter_state' ? undefined : f?.object();
  if (kind === 'header' && inner !== undefined) {
    const nameField = inner.field('header_name');
    nameField.require();
    const name = readHeaderName(nameField, true);
    if (name !== undefined) result = { kind: 'header', name, terminal };
  } else if (kind === 'cookie' && inner !== undefined) {
    const nameField = inner.field('name');
    nameField.require();
    const name = nameField.nonEmptyString();
    const nameOk = name !== undefined && COOKIE_NAME.test(name);
    if (name !== undefined && !nameOk) nameField.problem(`is not a valid cookie name: "${name}"`);
    const ttlField = inner.field('ttl');
    const ttlMs = ttlField.duration();
    const pathField = inner.field('path');
    const path = pathField.string();
    // Written into a Set-Cookie header one byte per character: printable ASCII only.
    const pathOk = path === undefined ? pathField.missing : isUriTextSafe(path) && !path.includes(';');
    if (path !== undefined && !pathOk) pathField.problem('must be printable ASCII without ";", whitespace or control characters');
    const bad = !nameOk || (ttlMs === undefined && !ttlField.missing) || !pathOk;
    // ttl 0 is valid: the generated cookie is a session cookie.
    if (!bad) result = { kind: 'cookie', name: name!, ttlMs: ttlMs ?? null, path: path === undefined || path === '' ? null : path, terminal };
  } else if (kind === 'connection_properties' && inner !== undefined) {
    const sourceIp = inner.field('source_ip').bool();
    if (sourceIp === true) result = { kind: 'source_ip', terminal };
    else if (sourceIp === false || !inner.has('source_ip')) result = null;
  } else if (kind === 'query_parameter' && inner !== undefined) {
    const nameField = inner.field('name');
    nameField.require();
    const name = nameField.nonEmptyString();
    if (name !== undefined) result = { kind: 'query_parameter', name, terminal };
  } else if (kind === 'filter_state') {
    f!.problem('is not supported (hash on a header, cookie, connection_properties.source_ip or query_parameter)');
  }
  inner?.done();
  obj.done();
  return result;
}

/** RouteAction.hash_policy, in order; undefined after reporting a problem. */
export function readHashPolicies(v: ValueReader): HashPolicy[] | undefined {
  return v.listOf(readHashPolicy)?.filter((p): p is HashPolicy => p !== null);
}
