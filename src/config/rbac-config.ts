// extensions.filters.http.rbac.v3.RBAC (and RBACPerRoute) with config.rbac.v3
// RBAC / Policy / Permission / Principal: the enforced `rules`, the dry-run
// `shadow_rules` (counted, never enforced), read from a bootstrap file or an
// xDS Any into typed immutable trees that workers/filters/rbac compiles once.
// The Permission and Principal kinds Istio's translation produces are read;
// the rest (metadata, matcher, condition, ...) are refused by name.

import type { HeaderMatcher, StringMatch } from './bootstrap-types.js';
import { readHeaderMatcher, readStringMatch } from './string-match.js';
import { readTypedConfig, readTypedConfigOf } from './typed-config.js';
import type { ObjectReader, ValueReader } from './yaml-reader.js';

export { RBAC_FILTER_NAME } from './http-filter-names.js';
export const RBAC_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const RBAC_PER_ROUTE_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute';
/** Bounds on a hostile or mistaken config: nesting depth of and/or/not trees, and policies per RBAC. */
const MAX_DEPTH = 32;
const MAX_POLICIES = 10_000;

export type RbacAction = 'ALLOW' | 'DENY' | 'LOG';

/** core.v3.CidrRange */
export interface CidrRange {
  readonly address: string;
  readonly prefixLen: number;
}

export type RbacPermission =
  | { readonly kind: 'any' }
  | { readonly kind: 'and' | 'or'; readonly rules: readonly RbacPermission[] }
  | { readonly kind: 'not'; readonly rule: RbacPermission }
  | { readonly kind: 'header'; readonly header: HeaderMatcher }
  | { readonly kind: 'url_path'; readonly path: StringMatch }
  | { readonly kind: 'destination_ip'; readonly cidr: CidrRange }
  | { readonly kind: 'destination_port'; readonly port: number }
  | { readonly kind: 'requested_server_name'; readonly name: StringMatch };

export type RbacPrincipal =
  | { readonly kind: 'any' }
  | { readonly kind: 'and' | 'or'; readonly ids: readonly RbacPrincipal[] }
  | { readonly kind: 'not'; readonly id: RbacPrincipal }
  /** null: any authenticated (TLS with a peer certificate) connection. */
  | { readonly kind: 'authenticated'; readonly principalName: StringMatch | null }
  | { readonly kind: 'direct_remote_ip' | 'remote_ip' | 'source_ip'; readonly cidr: CidrRange }
  | { readonly kind: 'header'; readonly header: HeaderMatcher }
  | { readonly kind: 'url_path'; readonly path: StringMatch };

export interface RbacPolicy {
  readonly name: string;
  /** Any of these (OR) ... */
  readonly permissions: readonly RbacPermission[];
  /** ... and any of these (OR). */
  readonly principals: readonly RbacPrincipal[];
}

/** config.rbac.v3.RBAC */
export interface RbacRules {
  readonly action: RbacAction;
  /** In name order (Envoy's map order does not matter: any match decides). */
  readonly policies: readonly RbacPolicy[];
}

export interface RbacConfig {
  /** null: no enforced rules (every request passes). */
  readonly rules: RbacRules | null;
  readonly shadowRules: RbacRules | null;
  /** rules_stat_prefix / shadow_rules_stat_prefix, prepended to the rbac.* counters. */
  readonly rulesStatPrefix: string;
  readonly shadowRulesStatPrefix: string;
}

function readCidr(v: ValueReader): CidrRange | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const addrField = obj.field('address_prefix');
  addrField.require();
  const address = addrField.nonEmptyString();
  const lenField = obj.field('prefix_len');
  let prefixLen: number | undefined = 0;
  if (!lenField.missing) {
    if (lenField.isMap()) {
      const w = lenField.object()!;
      prefixLen = w.field('value').integer(0, 128) ?? 0;
      w.done();
    } else prefixLen = lenField.integer(0, 128);
  }
  obj.done();
  if (address === undefined || prefixLen === undefined) return undefined;
  const family = ipFamily(address);
  if (family === 0) {
    addrField.problem(`is not an IP address: "${address}"`);
    return undefined;
  }
  if (prefixLen > (family === 4 ? 32 : 128)) {
    lenField.problem(`must be at most ${family === 4 ? 32 : 128} for ${address}`);
    return undefined;
  }
  return { address, prefixLen };
}

/** 4, 6 or 0 (not an address). */
export function ipFamily(text: string): 0 | 4 | 6 {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return text.split('.').every((p) => Number(p) <= 255) ? 4 : 0;
  return /^[0-9a-fA-F:.]+$/.test(text) && text.includes(':') ? 6 : 0;
}

const PERMISSION_KINDS = [
  'any', 'and_rules', 'or_rules', 'not_rule', 'header', 'url_path', 'destination_ip', 'destination_port', 'requested_server_name',
  'destination_port_range', 'metadata', 'matcher', 'uri_template',
] as const;
const PRINCIPAL_KINDS = [
  'any', 'and_ids', 'or_ids', 'not_id', 'authenticated', 'direct_remote_ip', 'remote_ip', 'source_ip', 'header', 'url_path',
  'metadata', 'filter_state', 'custom',
] as const;

/** `{ rules: [...] }` / `{ ids: [...] }` of and/or, at least one item. */
function readSet<T>(v: ValueReader, key: string, read: (item: ValueReader, depth: number) => T | undefined, depth: number): T[] | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const list = obj.field(key);
  list.require();
  const items = list.listOf((item) => read(item, depth + 1));
  obj.done();
  if (items !== undefined && items.length === 0) {
    list.problem('needs at least one item');
    return undefined;
  }
  return items;
}

/** PathMatcher: `{ path: StringMatcher }`. */
function readPathMatcher(v: ValueReader): StringMatch | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const f = obj.field('path');
  f.require();
  const m = f.missing ? undefined : readStringMatch(f);
  obj.done();
  return m;
}

function tooDeep(v: ValueReader, depth: number): boolean {
  if (depth <= MAX_DEPTH) return false;
  v.problem(`nests and/or/not more than ${MAX_DEPTH} deep`);
  return true;
}

/** config.rbac.v3.Permission */
export function readPermission(v: ValueReader, depth = 0): RbacPermission | undefined {
  if (tooDeep(v, depth)) return undefined;
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(PERMISSION_KINDS, true);
  const f = which ? obj.field(which) : null;
  let out: RbacPermission | undefined;
  switch (which) {
    case 'any':
      out = readAnyTrue(f!) ? { kind: 'any' } : undefined;
      break;
    case 'and_rules':
    case 'or_rules': {
      const rules = readSet(f!, 'rules', readPermission, depth);
      if (rules !== undefined) out = { kind: which === 'and_rules' ? 'and' : 'or', rules };
      break;
    }
    case 'not_rule': {
      const rule = readPermission(f!, depth + 1);
      if (rule !== undefined) out = { kind: 'not', rule };
      break;
    }
    case 'header': {
      const header = readHeaderMatcher(f!);
      if (header !== undefined) out = { kind: 'header', header };
      break;
    }
    case 'url_path': {
      const path = readPathMatcher(f!);
      if (path !== undefined) out = { kind: 'url_path', path };
      break;
    }
    case 'destination_ip': {
      const cidr = readCidr(f!);
      if (cidr !== undefined) out = { kind: 'destination_ip', cidr };
      break;
    }
    case 'destination_port': {
      const port = f!.integer(0, 65535);
      if (port !== undefined) out = { kind: 'destination_port', port };
      break;
    }
    case 'requested_server_name': {
      const name = readStringMatch(f!);
      if (name !== undefined) out = { kind: 'requested_server_name', name };
      break;
    }
    case undefined:
    case null:
      break;
    default:
      f!.problem(`is not supported by this proxy (supported permissions: ${PERMISSION_KINDS.slice(0, 9).join(', ')})`);
  }
  obj.done();
  return out;
}

/** config.rbac.v3.Principal */
export function readPrincipal(v: ValueReader, depth = 0): RbacPrincipal | undefined {
  if (tooDeep(v, depth)) return undefined;
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(PRINCIPAL_KINDS, true);
  const f = which ? obj.field(which) : null;
  let out: RbacPrincipal | undefined;
  switch (which) {
    case 'any':
      out = readAnyTrue(f!) ? { kind: 'any' } : undefined;
      break;
    case 'and_ids':
    case 'or_ids': {
      const ids = readSet(f!, 'ids', readPrincipal, depth);
      if (ids !== undefined) out = { kind: which === 'and_ids' ? 'and' : 'or', ids };
      break;
    }
    case 'not_id': {
      const id = readPrincipal(f!, depth + 1);
      if (id !== undefined) out = { kind: 'not', id };
      break;
    }
    case 'authenticated': {
      const a = f!.object();
      if (a === undefined) break;
      const nameField = a.field('principal_name');
      const principalName = nameField.missing ? null : readStringMatch(nameField);
      a.done();
      if (principalName !== undefined) out = { kind: 'authenticated', principalName };
      break;
    }
    case 'direct_remote_ip':
    case 'remote_ip':
    case 'source_ip': {
      const cidr = readCidr(f!);
      if (cidr !== undefined) out = { kind: which, cidr };
      break;
    }
    case 'header': {
      const header = readHeaderMatcher(f!);
      if (header !== undefined) out = { kind: 'header', header };
      break;
    }
    case 'url_path': {
      const path = readPathMatcher(f!);
      if (path !== undefined) out = { kind: 'url_path', path };
      break;
    }
    case undefined:
    case null:
      break;
    default:
      f!.problem(`is not supported by this proxy (supported principals: ${PRINCIPAL_KINDS.slice(0, 10).join(', ')})`);
  }
  obj.done();
  return out;
}

/** `any: true`; `any: false` never matches in Envoy's validation (it must be true). */
function readAnyTrue(v: ValueReader): boolean {
  const b = v.bool();
  if (b === false) v.problem('must be true');
  return b === true;
}

function readPolicy(name: string, v: ValueReader): RbacPolicy | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const permField = obj.field('permissions');
  permField.require();
  const permissions = permField.listOf((item) => readPermission(item));
  const princField = obj.field('principals');
  princField.require();
  const principals = princField.listOf((item) => readPrincipal(item));
  for (const unsupported of ['condition', 'checked_condition', 'cel_config']) {
    const u = obj.field(unsupported);
    if (!u.missing) u.problem('is not supported by this proxy (CEL conditions)');
  }
  obj.done();
  if (permissions !== undefined && permissions.length === 0 && !permField.missing) permField.problem('needs at least one permission');
  if (principals !== undefined && principals.length === 0 && !princField.missing) princField.problem('needs at least one principal');
  if (permissions === undefined || principals === undefined || permissions.length === 0 || principals.length === 0) return undefined;
  return { name, permissions: Object.freeze(permissions), principals: Object.freeze(principals) };
}

/** config.rbac.v3.RBAC */
export function readRbacRules(v: ValueReader): RbacRules | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const actionField = obj.field('action');
  const action = actionField.missing ? 'ALLOW' : actionField.enumOf(['ALLOW', 'DENY', 'LOG'] as const);
  const policiesField = obj.field('policies');
  const policies: RbacPolicy[] = [];
  let ok = action !== undefined;
  if (!policiesField.missing) {
    const map = policiesField.object();
    if (map === undefined) ok = false;
    else {
      const names = map.keys().sort();
      if (names.length > MAX_POLICIES) {
        policiesField.problem(`has ${names.length} policies; at most ${MAX_POLICIES} are accepted`);
        ok = false;
      } else {
        for (const name of names) {
          const p = readPolicy(name, map.field(name));
          if (p === undefined) ok = false;
          else policies.push(p);
        }
      }
      map.done();
    }
  }
  for (const unsupported of ['audit_logging_options']) {
    const u = obj.field(unsupported);
    if (!u.missing) u.problem('is not supported by this proxy');
  }
  obj.done();
  return ok ? { action: action!, policies: Object.freeze(policies) } : undefined;
}

function readRbacBody(obj: ObjectReader): RbacConfig | undefined {
  const rulesField = obj.field('rules');
  const rules = rulesField.missing ? null : readRbacRules(rulesField);
  const shadowField = obj.field('shadow_rules');
  const shadowRules = shadowField.missing ? null : readRbacRules(shadowField);
  const rulesStatPrefix = obj.field('rules_stat_prefix').string() ?? '';
  const shadowRulesStatPrefix = obj.field('shadow_rules_stat_prefix').string() ?? '';
  for (const unsupported of ['matcher', 'shadow_matcher', 'track_per_rule_stats']) {
    const u = obj.field(unsupported);
    if (!u.missing) u.problem(`is not supported by this proxy (use rules${unsupported === 'shadow_matcher' ? '/shadow_rules' : ''})`);
  }
  obj.done();
  if (rules === undefined || shadowRules === undefined) return undefined;
  return { rules, shadowRules, rulesStatPrefix, shadowRulesStatPrefix };
}

/** The filter's typed_config (an RBAC). */
export function readRbacConfig(v: ValueReader): RbacConfig | undefined {
  const obj = readTypedConfig(v, RBAC_TYPE_URL);
  return obj === undefined ? undefined : readRbacBody(obj);
}

/** RBAC as a route's / virtual host's typed_per_filter_config: an RBACPerRoute (`rbac`, absent = disabled there) or an RBAC. */
export function readRbacPerRoute(v: ValueReader): RbacConfig | null | undefined {
  const typed = readTypedConfigOf(v, [RBAC_PER_ROUTE_TYPE_URL, RBAC_TYPE_URL]);
  if (typed === undefined) return undefined;
  if (typed.type === RBAC_TYPE_URL) return readRbacBody(typed.obj);
  const inner = typed.obj.field('rbac');
  if (inner.missing) {
    typed.obj.done();
    return null; // RBACPerRoute without rbac: the filter is disabled on this route
  }
  const body = inner.object();
  const out = body === undefined ? undefined : readRbacBody(body);
  typed.obj.done();
  return out;
}


