// config.cluster.v3.CircuitBreakers: limits on connections, pending requests,
// active requests and active retries to one cluster, enforced across all
// workers; a retry_budget, when set, replaces max_retries.

import type { CircuitBreakers, RetryBudget } from './bootstrap-types.js';
import { readPercent } from './fraction.js';
import { UINT32_MAX, type ValueReader } from './yaml-reader.js';

/** Envoy's circuit-breaker defaults. */
export const DEFAULT_CIRCUIT_BREAKERS: CircuitBreakers = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  retryBudget: null,
};

/** Envoy's retry_budget defaults: 20% of active + pending requests, at least 3 concurrent retries. */
export const DEFAULT_RETRY_BUDGET: RetryBudget = { budgetPercent: 20, minRetryConcurrency: 3 };

function readRetryBudget(v: ValueReader): RetryBudget | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const percentField = obj.field('budget_percent');
  const budgetPercent = percentField.missing ? DEFAULT_RETRY_BUDGET.budgetPercent : readPercent(percentField);
  const concurrencyField = obj.field('min_retry_concurrency');
  const minRetryConcurrency = concurrencyField.integer(0, UINT32_MAX);
  obj.done();
  if (budgetPercent === undefined || (minRetryConcurrency === undefined && !concurrencyField.missing)) return undefined;
  return { budgetPercent, minRetryConcurrency: minRetryConcurrency ?? DEFAULT_RETRY_BUDGET.minRetryConcurrency };
}

/** One Thresholds entry; `priority` is returned so the caller can keep DEFAULT's. */
function readThresholds(v: ValueReader): { priority: 'DEFAULT' | 'HIGH'; limits: CircuitBreakers } | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const priorityField = obj.field('priority');
  const priority = priorityField.missing ? 'DEFAULT' : priorityField.enumOf(['DEFAULT', 'HIGH'] as const);
  let ok = true;
  const limit = (name: string, fallback: number): number => {
    const f = obj.field(name);
    const n = f.integer(0, UINT32_MAX);
    if (n === undefined && !f.missing) ok = false;
    return n ?? fallback;
  };
  const maxConnections = limit('max_connections', DEFAULT_CIRCUIT_BREAKERS.maxConnections);
  const maxPendingRequests = limit('max_pending_requests', DEFAULT_CIRCUIT_BREAKERS.maxPendingRequests);
  const maxRequests = limit('max_requests', DEFAULT_CIRCUIT_BREAKERS.maxRequests);
  const maxRetries = limit('max_retries', DEFAULT_CIRCUIT_BREAKERS.maxRetries);
  const budgetField = obj.field('retry_budget');
  const retryBudget = budgetField.missing ? null : readRetryBudget(budgetField);
  // track_remaining only adds remaining_* gauges to Envoy's stats; Istio sets it on every threshold. Accepted, no effect.
  obj.field('track_remaining').bool();
  obj.done();
  if (priority === undefined || retryBudget === undefined || !ok) return undefined;
  return { priority, limits: { maxConnections, maxPendingRequests, maxRequests, maxRetries, retryBudget } };
}

/**
 * config.cluster.v3.CircuitBreakers. Only the DEFAULT priority's thresholds are
 * enforced: HIGH is accepted (and checked) but ignored, because no route here
 * can ask for HIGH priority (RouteAction.priority is not supported).
 */
export function readCircuitBreakers(v: ValueReader): CircuitBreakers | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  let result: CircuitBreakers = DEFAULT_CIRCUIT_BREAKERS;
  let ok = true;
  const seen = new Set<string>();
  for (const item of obj.field('thresholds').list()) {
    const entry = readThresholds(item);
    if (entry === undefined) {
      ok = false;
      continue;
    }
    if (seen.has(entry.priority)) {
      item.problem(`repeats priority ${entry.priority}; give each priority one thresholds entry`);
      ok = false;
    }
    seen.add(entry.priority);
    if (entry.priority === 'DEFAULT') result = entry.limits;
  }
  obj.done();
  return ok ? result : undefined;
}
