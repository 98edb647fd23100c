// AuthorizationPolicies -> the sidecar inbound HCM's RBAC filters, as Istio
// builds them: for CUSTOM policies an RBAC filter whose shadow_rules (prefix
// istio_ext_authz_) match the requests their rules name and an ext_authz
// filter enabled only for those (filter_enabled_metadata on the shadow
// effective policy id, Istio's shape), asking the control plane's own
// Authorization service (cluster CONTROL_PLANE_CLUSTER); then a DENY filter,
// then an ALLOW filter. A CUSTOM denial therefore wins over any ALLOW.
// Dry-run CUSTOM policies are left out (they would still call the provider). One Envoy policy per rule, named ns[<ns>]-policy[<name>]-rule[<i>];
// a rule's `to` operations and its request conditions become permissions, its
// `from` sources and its peer conditions principals (any of each list; the
// parts of one source or operation all hold). Policies with the
// `istio.io/dry-run: "true"` annotation go to shadow_rules: counted, never
// enforced. An ALLOW policy with no rules matches nothing: with ALLOW policies
// present and none matching, a request is denied; with none, all pass.
import type { AuthorizationPolicy, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource, StringMap } from '../config/istio-types.js';
import { labelsMatch } from '../registry/registry-types.js';

export const RBAC_FILTER = 'envoy.filters.http.rbac';
export const RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';
export const EXT_AUTHZ_FILTER = 'envoy.filters.http.ext_authz';
export const EXT_AUTHZ_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
/** The sidecar reads this cluster name as the control plane it gets xDS from (src/config/http-filter-names.ts). */
const CONTROL_PLANE_CLUSTER = 'xds-grpc';
const EXT_AUTHZ_STAT_PREFIX = 'istio_ext_authz_';
const EXT_AUTHZ_POLICY_PREFIX = 'istio-ext-authz-';
/** How long the sidecar waits for the control plane's answer before failing closed (403). */
const EXT_AUTHZ_TIMEOUT = { seconds: 2, nanos: 0 };

/** What the translation needs to know about the workload. */
export interface AuthzWorkload {
  readonly namespace: string;
  readonly labels: StringMap;
  /** The workload's port: `ports` and destination.port match it (Istio matches the workload's target port). */
  readonly appPort: number;
}

type Json = Record<string, unknown>;
const ANY: Json = { any: true };
const NEVER: Json = { not_rule: { any: true } };

/** The policies that apply to a workload: its namespace's (all, or those selecting it) and the root namespace's. */
export function authorizationPoliciesFor(all: readonly AuthorizationPolicy[], rootNamespace: string, w: { namespace: string; labels: StringMap }): AuthorizationPolicy[] {
  return all.filter((p) => {
    const ns = p.metadata.namespace;
    if (ns !== w.namespace && ns !== rootNamespace) return false;
    const sel = p.spec.selector;
    return sel === undefined || Object.keys(sel).length === 0 || labelsMatch(sel, w.labels);
  });
}

export function isDryRun(p: AuthorizationPolicy): boolean {
  return p.metadata.annotations[DRY_RUN_ANNOTATION]?.toLowerCase() === 'true';
}

export function envoyPolicyName(p: AuthorizationPolicy, ruleIndex: number): string {
  return `ns[${p.metadata.namespace}]-policy[${p.metadata.name}]-rule[${ruleIndex}]`;
}

/** Istio's string forms: "*" (any non-empty), "prefix*", "*suffix", exact. */
function stringMatch(v: string, ignoreCase = false): Json {
  const ic = ignoreCase ? { ignore_case: true } : {};
  if (v === '*') return { safe_regex: { regex: '.+' } };
  if (v.endsWith('*')) return { prefix: v.slice(0, -1), ...ic };
  if (v.startsWith('*')) return { suffix: v.slice(1), ...ic };
  return { exact: v, ...ic };
}

function regexEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function principalMatch(v: string): Json {
  if (v === '*') return { authenticated: { principal_name: { safe_regex: { regex: '.+' } } } };
  if (v.startsWith('*')) return { authenticated: { principal_name: { suffix: v.slice(1) } } };
  if (v.endsWith('*')) return { authenticated: { principal_name: { prefix: `spiffe://${v.slice(0, -1)}` } } };
  return { authenticated: { principal_name: { exact: `spiffe://${v}` } } };
}

function namespaceMatch(v: string): Json {
  const ns = v === '*' ? '[^/]+' : v.endsWith('*') ? `${regexEscape(v.slice(0, -1))}[^/]*` : v.startsWith('*') ? `[^/]*${regexEscape(v.slice(1))}` : regexEscape(v);
  return { authenticated: { principal_name: { safe_regex: { regex: `.*/ns/${ns}/.*` } } } };
}

function cidr(v: string): Json {
  const slash = v.indexOf('/');
  const address = slash < 0 ? v : v.slice(0, slash);
  const len = slash < 0 ? (address.includes(':') ? 128 : 32) : Number(v.slice(slash + 1));
  return { address_prefix: address, prefix_len: { value: len } };
}

// ---- combinators that keep the tree small (one item needs no and/or) ----

function orP(items: Json[]): Json {
  return items.length === 1 ? items[0]! : { or_rules: { rules: items } };
}
function andP(items: Json[]): Json {
  return items.length === 0 ? ANY : items.length === 1 ? items[0]! : { and_rules: { rules: items } };
}
function orI(items: Json[]): Json {
  return items.length === 1 ? items[0]! : { or_ids: { ids: items } };
}
function andI(items: Json[]): Json {
  return items.length === 0 ? ANY : items.length === 1 ? items[0]! : { and_ids: { ids: items } };
}

/** A field's values ORed, or (not*) none of them, added to parts. */
function field(parts: Json[], values: readonly string[] | undefined, one: (v: string) => Json, or: (items: Json[]) => Json, wrap: (x: Json) => Json): void {
  if (values !== undefined) parts.push(wrap(or(values.map(one))));
}
const NOT_P = (x: Json): Json => ({ not_rule: x });
const NOT_I = (x: Json): Json => ({ not_id: x });
const SAME = (x: Json): Json => x;

function sourceIds(s: AuthzSource): Json {
  const parts: Json[] = [];
  field(parts, s.principals, principalMatch, orI, SAME);
  field(parts, s.notPrincipals, principalMatch, orI, NOT_I);
  field(parts, s.namespaces, namespaceMatch, orI, SAME);
  field(parts, s.notNamespaces, namespaceMatch, orI, NOT_I);
  field(parts, s.ipBlocks, (v) => ({ direct_remote_ip: cidr(v) }), orI, SAME);
  field(parts, s.notIpBlocks, (v) => ({ direct_remote_ip: cidr(v) }), orI, NOT_I);
  field(parts, s.remoteIpBlocks, (v) => ({ remote_ip: cidr(v) }), orI, SAME);
  field(parts, s.notRemoteIpBlocks, (v) => ({ remote_ip: cidr(v) }), orI, NOT_I);
  return andI(parts);
}

function portMatch(w: AuthzWorkload): (v: string) => Json {
  return (v) => (Number(v) === w.appPort ? ANY : NEVER);
}

function operationRules(o: AuthzOperation, w: AuthzWorkload): Json {
  const parts: Json[] = [];
  const host = (v: string): Json => ({ header: { name: ':authority', string_match: stringMatch(v.toLowerCase(), true) } });
  const method = (v: string): Json => (v === '*' ? ANY : { header: { name: ':method', string_match: stringMatch(v) } });
  const path = (v: string): Json => ({ url_path: { path: stringMatch(v) } });
  field(parts, o.hosts, host, orP, SAME);
  field(parts, o.notHosts, host, orP, NOT_P);
  field(parts, o.ports, portMatch(w), orP, SAME);
  field(parts, o.notPorts, portMatch(w), orP, NOT_P);
  field(parts, o.methods, method, orP, SAME);
  field(parts, o.notMethods, method, orP, NOT_P);
  field(parts, o.paths, path, orP, SAME);
  field(parts, o.notPaths, path, orP, NOT_P);
  return andP(parts);
}

/** A `when` condition: a permission or a principal, by key. */
function condition(c: AuthzCondition, w: AuthzWorkload, permissions: Json[], principals: Json[]): void {
  const header = /^request\.headers\[(.+)\]$/.exec(c.key);
  let one: (v: string) => Json;
  let onPrincipal = false;
  if (header !== null) {
    const name = header[1]!.toLowerCase();
    one = (v) => ({ header: { name, string_match: stringMatch(v) } });
  } else {
    switch (c.key) {
      case 'source.ip': one = (v) => ({ direct_remote_ip: cidr(v) }); onPrincipal = true; break;
      case 'remote.ip': one = (v) => ({ remote_ip: cidr(v) }); onPrincipal = true; break;
      case 'source.namespace': one = namespaceMatch; onPrincipal = true; break;
      case 'source.principal': one = principalMatch; onPrincipal = true; break;
      case 'destination.ip': one = (v) => ({ destination_ip: cidr(v) }); break;
      case 'destination.port': one = portMatch(w); break;
      case 'connection.sni': one = (v) => ({ requested_server_name: stringMatch(v) }); break;
      default: return; // the reader refuses other keys
    }
  }
  if (onPrincipal) {
    field(principals, c.values, one, orI, SAME);
    field(principals, c.notValues, one, orI, NOT_I);
  } else {
    field(permissions, c.values, one, orP, SAME);
    field(permissions, c.notValues, one, orP, NOT_P);
  }
}

/** One rule as an Envoy config.rbac.v3.Policy. */
export function rulePolicy(rule: AuthzRule, w: AuthzWorkload): Json {
  const permissions: Json[] = [];
  const principals: Json[] = [];
  if (rule.to.length > 0) permissions.push(orP(rule.to.map((o) => operationRules(o, w))));
  if (rule.from.length > 0) principals.push(orI(rule.from.map(sourceIds)));
  for (const c of rule.when) condition(c, w, permissions, principals);
  return { permissions: [andP(permissions)], principals: [andI(principals)] };
}

function rbacOf(action: 'ALLOW' | 'DENY', policies: readonly AuthorizationPolicy[], w: AuthzWorkload, namePrefix = ''): Json {
  const out: Json = {};
  for (const p of policies) p.spec.rules.forEach((rule, i) => (out[namePrefix + envoyPolicyName(p, i)] = rulePolicy(rule, w)));
  return { action, policies: out };
}

/** CUSTOM policies: the gating RBAC shadow filter and the ext_authz filter (empty when none is enforced). */
function customFilters(policies: readonly AuthorizationPolicy[], w: AuthzWorkload): Json[] {
  const custom = policies.filter((p) => p.spec.action === 'CUSTOM' && !isDryRun(p));
  if (custom.length === 0) return [];
  return [
    {
      name: RBAC_FILTER,
      typed_config: { '@type': RBAC_TYPE, shadow_rules: rbacOf('DENY', custom, w, EXT_AUTHZ_POLICY_PREFIX), shadow_rules_stat_prefix: EXT_AUTHZ_STAT_PREFIX },
    },
    {
      name: EXT_AUTHZ_FILTER,
      typed_config: {
        '@type': EXT_AUTHZ_TYPE,
        grpc_service: { envoy_grpc: { cluster_name: CONTROL_PLANE_CLUSTER }, timeout: EXT_AUTHZ_TIMEOUT },
        transport_api_version: 'V3',
        filter_enabled_metadata: {
          filter: RBAC_FILTER,
          path: [{ key: `${EXT_AUTHZ_STAT_PREFIX}shadow_effective_policy_id` }],
          value: { string_match: { prefix: EXT_AUTHZ_POLICY_PREFIX } },
        },
      },
    },
  ];
}

/** The inbound HCM's authorization filters (before the router), in Istio's order; empty when no policy applies. */
export function authzHttpFilters(policies: readonly AuthorizationPolicy[], w: AuthzWorkload): Json[] {
  const filters: Json[] = customFilters(policies, w);
  for (const action of ['DENY', 'ALLOW'] as const) {
    const mine = policies.filter((p) => p.spec.action === action);
    const enforced = mine.filter((p) => !isDryRun(p));
    const dry = mine.filter(isDryRun);
    if (enforced.length === 0 && dry.length === 0) continue;
    const typed: Json = { '@type': RBAC_TYPE };
    if (enforced.length > 0) typed.rules = rbacOf(action, enforced, w);
    if (dry.length > 0) {
      typed.shadow_rules = rbacOf(action, dry, w);
      typed.shadow_rules_stat_prefix = 'istio_dry_run_';
    }
    filters.push({ name: RBAC_FILTER, typed_config: typed });
  }
  return filters;
}
