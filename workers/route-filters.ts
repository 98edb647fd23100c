// The HTTP filters' configuration for each route of a listener, resolved once
// when a worker compiles a config version (never per request): the fault
// config that applies (route over virtual host over the listener's filter
// config: Envoy's most specific wins, and only when the filter is in the
// chain), the CORS policy merged from route and virtual host, and the route's
// mirror policies. A listener with none of these has no ListenerFilters at
// all, so the request path pays one null check.
import type { FaultConfig, Listener, RequestMirrorPolicy, Route, VirtualHost } from '../src/config/bootstrap-types.js';
import { CompiledCors } from './cors-filter.js';
import { CompiledFault, type RandomSource } from './fault-filter.js';
import type { HttpFilterStats, ListenerFilterStats } from './http-filter-stats.js';

export class RouteFilters {
  /** Response header names to drop from the upstream's response when CORS sets them; cached per header plan. */
  private removeFor: readonly string[] | null | undefined = undefined;
  private removeResult: readonly string[] = [];

  constructor(
    readonly fault: CompiledFault | null,
    readonly cors: CompiledCors | null,
    /** Empty when the route mirrors nothing. */
    readonly mirrors: readonly RequestMirrorPolicy[],
    readonly random: RandomSource,
  ) {}

  /** The route's own response removals plus the names CORS sets (computed once; a route always has the same plan). */
  corsRemove(planRemove: readonly string[] | null): readonly string[] {
    if (this.removeFor !== planRemove) {
      const names = new Set(planRemove ?? []);
      for (const n of this.cors?.responseNames ?? []) names.add(n);
      this.removeResult = Object.freeze([...names]);
      this.removeFor = planRemove;
    }
    return this.removeResult;
  }
}

export class ListenerFilters {
  constructor(private readonly byRoute: ReadonlyMap<Route, RouteFilters>) {}

  /** The filters of a route of this listener's route config; null when it has none. */
  forRoute(route: Route): RouteFilters | null {
    return this.byRoute.get(route) ?? null;
  }
}

/** Compiles every route's filters; null when no route of the listener has any (the v1 request path). */
export function compileListenerFilters(
  listener: Listener,
  stats: HttpFilterStats,
  random: RandomSource = Math.random,
): ListenerFilters | null {
  const chain = listener.httpFilters;
  // Counters exist only for listeners that run a filter, as Envoy's stats do.
  let counters: ListenerFilterStats | null = null;
  const countersFor = (): ListenerFilterStats => (counters ??= stats.forPrefix(listener.statPrefix));
  // By config and route timeout (a client-set delay is capped by the route's timeout).
  const faults = new Map<FaultConfig, Map<number, CompiledFault>>();
  const compileFault = (config: FaultConfig, timeoutMs: number): CompiledFault => {
    let byTimeout = faults.get(config);
    if (byTimeout === undefined) faults.set(config, (byTimeout = new Map()));
    let compiled = byTimeout.get(timeoutMs);
    if (compiled === undefined) byTimeout.set(timeoutMs, (compiled = new CompiledFault(config, countersFor(), random, stats.faultGate, timeoutMs)));
    return compiled;
  };
  const byRoute = new Map<Route, RouteFilters>();
  const addRoute = (vh: VirtualHost, route: Route): void => {
    if (route.action.type !== 'route') return; // Envoy's CORS needs a route entry; faults ahead of a redirect are not modelled
    const faultConfig = chain.fault === null ? null : (route.fault ?? vh.fault ?? chain.fault);
    // A fault that can never fire (0% and no header control) costs nothing per request.
    const fault = faultConfig === null || !faultCanFire(faultConfig) ? null : compileFault(faultConfig, route.action.timeoutMs);
    let cors: CompiledCors | null = null;
    if (chain.cors) {
      const policies = [route.cors, vh.cors].filter((p) => p !== null);
      if (policies.length > 0) cors = new CompiledCors(policies, countersFor(), random);
    }
    const mirrors = route.action.requestMirrorPolicies.filter((m) => m.fraction > 0);
    if (fault === null && cors === null && mirrors.length === 0) return;
    byRoute.set(route, new RouteFilters(fault, cors, mirrors, random));
  };
  for (const vh of listener.routeConfig.virtualHosts) for (const route of vh.routes) addRoute(vh, route);
  return byRoute.size === 0 ? null : new ListenerFilters(byRoute);
}

/** False when neither the delay nor the abort can apply to any request. */
function faultCanFire(config: FaultConfig): boolean {
  const d = config.delay;
  const a = config.abort;
  return (d !== null && (d.headerDelay || d.percentage > 0)) || (a !== null && (a.headerAbort || a.percentage > 0));
}
