// A route's header mutations turned, once per compiled route, into what the
// hot path applies: names to drop while copying, and pre-encoded lines to add.
import { Buffer } from 'node:buffer';
import type { HeaderValueOption } from '../src/config/bootstrap-types.js';
import type { CompiledRoute } from '../src/routing/route-table.js';

export interface RouteHeaderPlan {
  /** Dropped while copying request headers: removals plus names an overwrite-add replaces; null when none. */
  readonly requestRemove: readonly string[] | null;
  readonly requestAdd: Buffer;
  readonly responseRemove: readonly string[] | null;
  readonly responseAdd: Buffer;
}

const plans = new WeakMap<CompiledRoute, RouteHeaderPlan>();

function removals(remove: readonly string[], add: readonly HeaderValueOption[]): readonly string[] | null {
  const names = new Set(remove);
  for (const h of add) if (!h.append) names.add(h.key);
  return names.size === 0 ? null : Object.freeze([...names]);
}

function encodeLines(add: readonly HeaderValueOption[]): Buffer {
  // An overwrite of a header listed twice keeps the first (most specific) value, as Envoy does.
  const seen = new Set<string>();
  let text = '';
  for (const h of add) {
    if (!h.append) {
      if (seen.has(h.key)) continue;
      seen.add(h.key);
    }
    text += `${h.key}: ${h.value}\r\n`;
  }
  return Buffer.from(text, 'utf8');
}

/** The last route asked for and its plan: a worker's requests mostly repeat one route (a WeakMap lookup costs more). */
let lastRoute: CompiledRoute | null = null;
let lastPlan: RouteHeaderPlan | null = null;

export function headerPlanFor(route: CompiledRoute): RouteHeaderPlan {
  if (route === lastRoute) return lastPlan!;
  let plan = plans.get(route);
  if (plan === undefined) {
    plan = {
      requestRemove: removals(route.requestHeadersToRemove, route.requestHeadersToAdd),
      requestAdd: encodeLines(route.requestHeadersToAdd),
      responseRemove: removals(route.responseHeadersToRemove, route.responseHeadersToAdd),
      responseAdd: encodeLines(route.responseHeadersToAdd),
    };
    plans.set(route, plan);
  }
  lastRoute = route;
  lastPlan = plan;
  return plan;
}

export const EMPTY_HEADER_PLAN: RouteHeaderPlan = {
  requestRemove: null,
  requestAdd: Buffer.alloc(0),
  responseRemove: null,
  responseAdd: Buffer.alloc(0),
};
