// The DNS fields of a STRICT_DNS / LOGICAL_DNS cluster: lookup family,
// refresh rates, TTL, failure back-off and the resolvers (dns_resolution_config,
// typed_dns_resolver_config with envoy.network.dns_resolver.cares, or the
// deprecated dns_resolvers). Names are resolved by the agent, never by a worker.

import type { DnsLookupFamily, DnsSettings, DnsTarget, SocketAddress } from './bootstrap-types.js';
import { readSocketAddress } from './socket-address.js';
import { readTypedConfig } from './typed-config.js';
import type { ObjectReader, ValueReader } from './yaml-reader.js';

/** Envoy's default dns_refresh_rate. */
export const DEFAULT_DNS_REFRESH_MS = 5_000;
/** Envoy refuses refresh rates under 1 ms; a floor that keeps a typo from hammering a resolver. */
const MIN_REFRESH_MS = 1;
/** At most this many resolvers per cluster (c-ares takes a list; more than a few is a mistake). */
const MAX_RESOLVERS = 8;
const CARES_NAME = 'envoy.network.dns_resolver.cares';
const CARES_TYPE_URL = 'type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig';
const LOOKUP_FAMILIES: readonly DnsLookupFamily[] = ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'];

/** A list of config.core.v3.Address (resolvers); IP literals only. */
function readResolvers(v: ValueReader): SocketAddress[] | undefined {
  const out: SocketAddress[] = [];
  let ok = true;
  const items = v.list();
  if (items.length > MAX_RESOLVERS) {
    v.problem(`lists ${items.length} resolvers; at most ${MAX_RESOLVERS}`);
    return undefined;
  }
  for (const item of items) {
    const address = readSocketAddress(item, false);
    if (address === undefined) ok = false;
    else out.push(address);
  }
  return ok ? out : undefined;
}

/** config.core.v3.DnsResolverOptions: both flags accepted; TCP lookups are not offered by Node's resolver. */
function readResolverOptions(v: ValueReader): boolean {
  if (v.missing) return true;
  const obj = v.object();
  if (obj === undefined) return false;
  const tcp = obj.field('use_tcp_for_dns_lookups');
  if (tcp.bool() === true) tcp.problem('is not supported (lookups use UDP, as c-ares does by default)');
  obj.field('no_default_search_domain').bool();
  obj.done();
  return tcp.missing || tcp.bool() === false;
}

/** config.core.v3.DnsResolutionConfig / CaresDnsResolverConfig's shared fields: resolvers and dns_resolver_options. */
function readResolutionFields(obj: ObjectReader): SocketAddress[] | undefined {
  const resolvers = readResolvers(obj.field('resolvers'));
  const optionsOk = readResolverOptions(obj.field('dns_resolver_options'));
  return optionsOk ? resolvers : undefined;
}

/** typed_dns_resolver_config: only the c-ares resolver (Envoy's default), with resolvers to ask. */
function readTypedResolver(v: ValueReader): SocketAddress[] | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const name = obj.field('name');
  const nameValue = name.string();
  if (nameValue !== undefined && nameValue !== CARES_NAME) name.problem(`must be ${CARES_NAME} (got "${nameValue}")`);
  const typed = readTypedConfig(obj.field('typed_config'), CARES_TYPE_URL);
  obj.done();
  if (typed === undefined) return undefined;
  const resolvers = readResolutionFields(typed);
  // Both accepted: c-ares's fallback to the system's resolvers and its per-query tuning do not change answers.
  typed.field('use_resolvers_as_fallback').bool();
  typed.field('filter_unroutable_families').bool();
  typed.field('query_timeout_seconds').integer(1, 3600);
  typed.field('query_tries').integer(1, 100);
  typed.field('rotate_nameservers').bool();
  typed.done();
  if (nameValue !== undefined && nameValue !== CARES_NAME) return undefined;
  return resolvers;
}

/** dns_failure_refresh_rate (RefreshRate): base_interval required, max_interval at least base (default 10 × base). */
function readFailureRate(v: ValueReader, refreshRateMs: number): { baseMs: number; maxMs: number } | undefined {
  if (v.missing) return { baseMs: refreshRateMs, maxMs: refreshRateMs };
  const obj = v.object();
  if (obj === undefined) return undefined;
  const baseField = obj.field('base_interval');
  baseField.require();
  const base = baseField.duration();
  const maxField = obj.field('max_interval');
  const max = maxField.duration();
  obj.done();
  if (base === undefined || (max === undefined && !maxField.missing)) return undefined;
  if (base < MIN_REFRESH_MS) {
    baseField.problem('must be at least 1ms');
    return undefined;
  }
  const maxMs = max ?? base * 10;
  if (maxMs < base) {
    maxField.problem(`must not be less than base_interval (${base} ms)`);
    return undefined;
  }
  return { baseMs: base, maxMs };
}

/**
 * The DNS fields of a cluster of `type` (read for every cluster, so a STATIC cluster that sets one is told
 * it only applies to DNS clusters); null for STATIC.
 */
export function readDnsSettings(obj: ObjectReader, type: string | undefined, targets: readonly DnsTarget[]): DnsSettings | null | undefined {
  const dnsFields = ['dns_lookup_family', 'dns_refresh_rate', 'respect_dns_ttl', 'dns_failure_refresh_rate', 'dns_resolution_config',
    'typed_dns_resolver_config', 'dns_resolvers', 'use_tcp_for_dns_lookups'];
  if (type !== 'STRICT_DNS' && type !== 'LOGICAL_DNS') {
    for (const name of dnsFields) {
      // Envoy ignores dns_lookup_family on STATIC clusters, and generated configs often carry it: accepted as Envoy does.
      if (name === 'dns_lookup_family') obj.field(name).enumOf(LOOKUP_FAMILIES);
      else if (obj.has(name)) obj.field(name).problem(`applies only to STRICT_DNS and LOGICAL_DNS clusters (type is ${type ?? 'STATIC'})`);
    }
    return null;
  }
  let ok = true;
  const familyField = obj.field('dns_lookup_family');
  const lookupFamily = familyField.missing ? 'AUTO' : familyField.enumOf(LOOKUP_FAMILIES);
  if (lookupFamily === undefined) ok = false;
  const rateField = obj.field('dns_refresh_rate');
  const rate = rateField.duration();
  if (rate === undefined && !rateField.missing) ok = false;
  if (rate !== undefined && rate < MIN_REFRESH_MS) {
    rateField.problem('must be at least 1ms');
    ok = false;
  }
  const refreshRateMs = rate ?? DEFAULT_DNS_REFRESH_MS;
  const ttlField = obj.field('respect_dns_ttl');
  const respectTtl = ttlField.bool() ?? false;
  const failure = readFailureRate(obj.field('dns_failure_refresh_rate'), refreshRateMs);
  if (failure === undefined) ok = false;
  let resolvers: SocketAddress[] = [];
  const sources = ['dns_resolution_config', 'typed_dns_resolver_config', 'dns_resolvers'].filter((n) => obj.has(n));
  if (sources.length > 1) {
    obj.field(sources[1]!).problem(`cannot be given together with ${sources[0]}`);
    ok = false;
  } else if (sources[0] === 'dns_resolution_config') {
    const config = obj.field('dns_resolution_config').object();
    const read = config === undefined ? undefined : readResolutionFields(config);
    config?.done();
    if (read === undefined) ok = false;
    else resolvers = read;
  } else if (sources[0] === 'typed_dns_resolver_config') {
    const read = readTypedResolver(obj.field('typed_dns_resolver_config'));
    if (read === undefined) ok = false;
    else resolvers = read;
  } else if (sources[0] === 'dns_resolvers') {
    const read = readResolvers(obj.field('dns_resolvers'));
    if (read === undefined) ok = false;
    else resolvers = read;
  }
  const tcp = obj.field('use_tcp_for_dns_lookups');
  if (tcp.bool() === true) {
    tcp.problem('is not supported (lookups use UDP, as c-ares does by default)');
    ok = false;
  }
  if (!ok || lookupFamily === undefined || failure === undefined) return undefined;
  return { lookupFamily, refreshRateMs, respectTtl, failureBaseMs: failure.baseMs, failureMaxMs: failure.maxMs, resolvers, targets };
}
