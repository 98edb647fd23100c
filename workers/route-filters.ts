// Each route's HTTP filter chain, built from the listener's config once per
// config version (never per request): a list of filter factories in the order
// http_filters lists them, then the route's mirrors (the router is implied and
// last). The fault config that applies is the route's over the virtual host's
// over the filter's own (Envoy's most specific wins, and only when the filter
// is in http_filters); the CORS policy is merged from route and virtual host.
// A filter that can never act (a 0% fault without header control, a 0%
// mirror, a local rate limit with filter_enabled 0% or no bucket) is left out, and a route with no filters has no chain: its requests
// go straight to the router. A new filter is one more entry in `builders`.
import type { FaultConfig, Listener, LocalRateLimitConfig, Route, VirtualHost } from '../src/config/bootstrap-types.js';
import { CONTROL_PLANE_CLUSTER, CORS_FILTER_NAME, EXT_AUTHZ_FILTER_NAME, FAULT_FILTER_NAME, LOCAL_RATE_LIMIT_FILTER_NAME, MIXER_FILTER_NAME, RBAC_FILTER_NAME } from '../src/config/http-filter-names.js';
import type { RbacConfig } from '../src/config/rbac-config.js';
import { LocalRateLimitFactory } from './filters/local-ratelimit/local-ratelimit-filter.js';
import { localRateLimitFactory } from './filters/local-ratelimit/local-ratelimit-compile.js';
import { compileCompressors } from './filters/compressor/compressor-compile.js';
import { CompiledCors } from './filters/cors/cors-config.js';
import { CorsFilterFactory } from './filters/cors/cors-filter.js';
import { CompiledFault, type RandomSource } from './filters/fault/fault-config.js';
import { FaultFilterFactory } from './filters/fault/fault-filter.js';
import type { HttpFilterFactory } from './filters/http-filter.js';
import type { RbacFilterFactory } from './filters/rbac/rbac-filter.js';
import { policyFilterModule } from './feature-modules.js';
import { MirrorFilterFactory } from './filters/mirror/mirror-filter.js';
import type { HttpFilterStats, ListenerFilterStats } from './http-filter-stats.js';

/** One route's filters in chain order (at least one). */
export type RouteFilterChain = readonly HttpFilterFactory[];

export class ListenerFilters {
  constructor(private readonly byRoute: ReadonlyMap<Route, RouteFilterChain>) {}

  /** The filter chain of a route of this listener's route config; null when it has no filters. */
  forRoute(route: Route): RouteFilterChain | null {
    return this.byRoute.get(route) ?? null;
  }
}

/** Compiles every route's chain; null when no route of the listener has a filter (no filter machinery at all). */
export function compileListenerFilters(
  listener: Listener,
  stats: HttpFilterStats,
  random: RandomSource = Math.random,
): ListenerFilters | null {
  const config = listener.httpFilters;
  // Counters exist only for listeners that run a filter, as Envoy's stats do.
  let counters: ListenerFilterStats | null = null;
  const countersFor = (): ListenerFilterStats => (counters ??= stats.forPrefix(listener.statPrefix));
  // One factory per fault config and route timeout (a client-set delay is capped by the route's timeout).
  const faults = new Map<FaultConfig, Map<number, FaultFilterFactory>>();
  const faultFactory = (fault: FaultConfig, timeoutMs: number): FaultFilterFactory => {
    let byTimeout = faults.get(fault);
    if (byTimeout === undefined) faults.set(fault, (byTimeout = new Map()));
    let factory = byTimeout.get(timeoutMs);
    if (factory === undefined) {
      factory = new FaultFilterFactory(new CompiledFault(fault, countersFor(), random, stats.faultGate, timeoutMs));
      byTimeout.set(timeoutMs, factory);
    }
    return factory;
  };
  /** Per filter name: its factory for a route, or null when it has nothing to do there. */
  const builders: Record<string, (vh: VirtualHost, route: Route, timeoutMs: number) => HttpFilterFactory | null> = {
    [CORS_FILTER_NAME]: (vh, route) => {
      const policies = [route.cors, vh.cors].filter((p) => p !== null);
      return policies.length === 0 ? null : new CorsFilterFactory(new CompiledCors(policies, countersFor(), random));
    },
    [FAULT_FILTER_NAME]: (vh, route, timeoutMs) => {
      const fault = config.fault === null ? null : (route.fault ?? vh.fault ?? config.fault);
      return fault === null || !faultCanFire(fault) ? null : faultFactory(fault, timeoutMs);
    },
  };
  // One bucket per config object, as Envoy has one per filter config / per-route config.
  const rateLimits = new Map<LocalRateLimitConfig, LocalRateLimitFactory | null>();
  const rateLimitFactory = (rl: LocalRateLimitConfig, place: string): LocalRateLimitFactory | null => {
    let factory = rateLimits.get(rl);
    if (factory === undefined) {
      factory = localRateLimitFactory(rl, `${listener.name}\u0000${listener.statPrefix}\u0000${listener.routeConfig.name}\u0000${place}`, stats, random);
      rateLimits.set(rl, factory);
    }
    return factory;
  };
  let vhIndex = 0;
  let routeIndex = 0;
  builders[LOCAL_RATE_LIMIT_FILTER_NAME] = (vh, route) => {
    if (config.localRateLimit === null) return null;
    const factory = route.localRateLimit !== null ? rateLimitFactory(route.localRateLimit, `route:${vhIndex}:${routeIndex}`)
      : vh.localRateLimit !== null ? rateLimitFactory(vh.localRateLimit, `vh:${vhIndex}`)
      : rateLimitFactory(config.localRateLimit, 'listener');
    // The route's rate_limits actions make the descriptors its requests are matched by.
    return factory === null || route.action.type !== 'route' ? factory : factory.forRoute(route.action.rateLimits ?? []);
  };
  // The policy filter is the listener's alone: one factory (its cache and Report batch) for every route.
  const mixer = config.mixer;
  if (mixer !== undefined) {
    const factory = policyFilterModule().compileMixerFilter(mixer, listener, stats.mixerCounters);
    builders[MIXER_FILTER_NAME] = () => factory;
  }
  // ext_authz: one factory per listener; gated by the RBAC filter whose shadow rules carry the named stat prefix.
  const extAuthz = config.extAuthz;
  if (extAuthz !== undefined) {
    let gate = null;
    if (extAuthz.enabledBy !== null) {
      const shadow = config.rbac?.find((r) => r.shadowRules !== null && r.shadowRulesStatPrefix === extAuthz.enabledBy!.shadowStatPrefix)?.shadowRules ?? null;
      // No RBAC shadow rules of that prefix: no request carries the metadata, so the filter never runs (as in Envoy).
      gate = policyFilterModule().compileRbacRules(shadow ?? { action: 'DENY', policies: [] }, listener.address);
    }
    const target = extAuthz.clusterName === CONTROL_PLANE_CLUSTER ? '' : extAuthz.clusterName;
    const factory = new (policyFilterModule().ExtAuthzFilterFactory)(extAuthz, target, gate, listener.address, countersFor(), config.mixer?.mixerAttributes);
    builders[EXT_AUTHZ_FILTER_NAME] = () => factory;
  }
  // Compressors are the listener's alone (no per-route config): the same factories on every route.
  for (const [name, factory] of compileCompressors(config, listener.statPrefix, stats)) {
    // CompressorPerRoute disabled: the route's word over the virtual host's.
    builders[name] = (vh, route) => ((route.disabledCompressors ?? vh.disabledCompressors ?? null)?.includes(name) === true ? null : factory);
  }
  // RBAC: one compiled factory per config object; a chain may hold several (Istio's DENY then ALLOW).
  const rbacs = new Map<RbacConfig, RbacFilterFactory | null>();
  const rbacFactory = (rc: RbacConfig): RbacFilterFactory | null => {
    let factory = rbacs.get(rc);
    if (factory === undefined) {
      const policy = policyFilterModule();
      const rules = rc.rules === null ? null : policy.compileRbacRules(rc.rules, listener.address);
      const shadow = rc.shadowRules === null ? null : policy.compileRbacRules(rc.shadowRules, listener.address);
      factory = rules === null && shadow === null ? null : new policy.RbacFilterFactory(rules, shadow, countersFor());
      rbacs.set(rc, factory);
    }
    return factory;
  };
  const byRoute = new Map<Route, RouteFilterChain>();
  const addRoute = (vh: VirtualHost, route: Route): void => {
    if (route.action.type !== 'route') return; // Envoy's CORS needs a route entry; faults ahead of a redirect are not modelled
    const chain: HttpFilterFactory[] = [];
    let rbacIndex = 0;
    for (const name of config.order) {
      let factory: HttpFilterFactory | null;
      if (name === RBAC_FILTER_NAME) {
        // The route's typed_per_filter_config over the virtual host's over this filter's own (null: disabled there).
        const perRoute = route.rbac !== undefined ? route.rbac : vh.rbac;
        const own = config.rbac?.[rbacIndex++] ?? null;
        const rc = perRoute !== undefined ? perRoute : own;
        factory = rc === null ? null : rbacFactory(rc);
      } else factory = builders[name]?.(vh, route, route.action.timeoutMs) ?? null;
      if (factory !== null) chain.push(factory);
    }
    const mirrors = route.action.requestMirrorPolicies.filter((m) => m.fraction > 0);
    if (mirrors.length > 0) chain.push(new MirrorFilterFactory(mirrors, route.action.timeoutMs, random));
    if (chain.length > 0) byRoute.set(route, Object.freeze(chain));
  };
  for (const vh of listener.routeConfig.virtualHosts) {
    routeIndex = 0;
    for (const route of vh.routes) {
      addRoute(vh, route);
      routeIndex++;
    }
    vhIndex++;
  }
  return byRoute.size === 0 ? null : new ListenerFilters(byRoute);
}

/** False when neither the delay nor the abort can apply to any request. */
function faultCanFire(config: FaultConfig): boolean {
  const d = config.delay;
  const a = config.abort;
  return (d !== null && (d.headerDelay || d.percentage > 0)) || (a !== null && (a.headerAbort || a.percentage > 0));
}
