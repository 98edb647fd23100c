// A route configuration compiled for the request path: a domain index to pick
// the virtual host, then that host's routes tried in order. A worker builds
// one per config version off the hot path and swaps it in with one write; a
// request keeps the table it started with.

import type {
  HeaderValueOption, RedirectAction, Route, RouteConfig, VirtualHost, WeightedClusterEntry,
} from '../config/bootstrap-types.js';
import { parseQueryForMatch } from './query-params.js';
import { registerRedirectMatch } from './redirect-location.js';
import type { RequestView } from './request-view.js';
import { RouteMatcher } from './route-matcher.js';
import { VirtualHostIndex } from './virtual-host-index.js';

export type { RequestView } from './request-view.js';
export { redirectLocation } from './redirect-location.js';
export { rewritePath } from './rewrite-path.js';

export interface CompiledRoute {
  readonly route: Route;
  readonly virtualHost: VirtualHost;
  /** Request/response header mutations merged in Envoy's order (route, then virtual host, then route config), ready to apply. */
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToRemove: readonly string[];
  /** For a 'route' action: the cluster for a uniform random number r in [0,1) (weighted_clusters by cumulative weight); '' otherwise. */
  pickCluster(r: number): string;
}

class CompiledRouteEntry implements CompiledRoute {
  readonly matcher: RouteMatcher;
  readonly requestHeadersToAdd: readonly HeaderValueOption[];
  readonly requestHeadersToRemove: readonly string[];
  readonly responseHeadersToAdd: readonly HeaderValueOption[];
  readonly responseHeadersToRemove: readonly string[];
  private readonly clusterNames: readonly string[];
  /** Running sums of the weights, for pickCluster. */
  private readonly cumulative: readonly number[];
  private readonly totalWeight: number;

  constructor(
    readonly route: Route,
    readonly virtualHost: VirtualHost,
    config: RouteConfig,
  ) {
    this.matcher = new RouteMatcher(route.match);
    // Envoy applies the most specific level first and the route config last, so for an
    // overwrite the outer level wins (most_specific_header_mutations_wins = false).
    const levels = [route, virtualHost, config];
    this.requestHeadersToAdd = Object.freeze(levels.flatMap((l) => l.requestHeadersToAdd));
    this.requestHeadersToRemove = Object.freeze(unique(levels.flatMap((l) => l.requestHeadersToRemove)));
    this.responseHeadersToAdd = Object.freeze(levels.flatMap((l) => l.responseHeadersToAdd));
    this.responseHeadersToRemove = Object.freeze(unique(levels.flatMap((l) => l.responseHeadersToRemove)));
    // A cluster of weight 0 takes no traffic: it is left out of the pick (and of the clamp below).
    const clusters: readonly WeightedClusterEntry[] = route.action.type === 'route' ? route.action.clusters.filter((c) => c.weight > 0) : [];
    this.clusterNames = clusters.map((c) => c.name);
    let sum = 0;
    this.cumulative = clusters.map((c) => (sum += c.weight));
    this.totalWeight = sum;
    if (route.action.type === 'redirect') registerRedirectMatch(route.action as RedirectAction, route.match);
  }

  pickCluster(r: number): string {
    const names = this.clusterNames;
    if (names.length <= 1) return names.length === 1 ? names[0]! : '';
    const point = r * this.totalWeight;
    const cumulative = this.cumulative;
    for (let i = 0; i < cumulative.length; i++) if (point < cumulative[i]!) return names[i]!;
    return names[names.length - 1]!; // r outside [0,1): clamp rather than fail
  }
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}

export class RouteTable {
  private constructor(private readonly hosts: VirtualHostIndex<readonly CompiledRouteEntry[]>) {}

  /** Takes a validated route config; returns its compiled table (regexes compiled here, once). */
  static compile(config: RouteConfig): RouteTable {
    const entries = config.virtualHosts.map(
      (vh) => [vh.domains, vh.routes.map((route) => new CompiledRouteEntry(route, vh, config))] as const,
    );
    return new RouteTable(new VirtualHostIndex(entries));
  }

  /** First matching route of the selected virtual host, or null (→ 404 NR). */
  match(req: RequestView): CompiledRoute | null {
    const routes = this.hosts.find(req.authority);
    if (routes === null) return null;
    let params: Map<string, string> | null = null; // parsed on the first route that asks
    for (let i = 0; i < routes.length; i++) {
      const entry = routes[i]!;
      const matcher = entry.matcher;
      if (!matcher.matchesRequest(req)) continue;
      if (matcher.hasQueryMatchers) {
        params ??= parseQueryForMatch(req.query);
        if (!matcher.matchesQuery(params)) continue;
      }
      return entry;
    }
    return null;
  }
}
