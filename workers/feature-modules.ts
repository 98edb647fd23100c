// Feature modules a data plane loads when a config first uses them, not at
// startup: every isolate (the main thread's, each worker thread's) pays its own
// copy of every module it loads. A config version that needs one waits for its
// import before it compiles (data-plane.ts); the modules compile synchronously
// from here once loaded, and stay loaded (a reload that drops the feature and
// one that brings it back cost no second import).
import type { Bootstrap, HttpFilters } from '../src/config/bootstrap-types.js';
import { RBAC_FILTER_NAME } from '../src/config/http-filter-names.js';
import type * as PolicyFilters from './filters/policy-filters.js';

export type PolicyFilterModule = typeof PolicyFilters;

let policyFilters: PolicyFilterModule | null = null;
let policyLoading: Promise<void> | null = null;

/** Takes a listener's HTTP filters; returns whether they run an access-policy filter (RBAC, ext_authz, Mixer policy). */
export function usesPolicyFilters(filters: HttpFilters): boolean {
  return filters.mixer !== undefined || filters.extAuthz !== undefined || filters.rbac !== undefined || filters.order.includes(RBAC_FILTER_NAME);
}

/** Takes nothing; returns the policy filters' module; throws when no config needing it was loaded for (a bug). */
export function policyFilterModule(): PolicyFilterModule {
  if (policyFilters === null) throw new Error('the policy filters were used before loadFeaturesFor loaded them');
  return policyFilters;
}

/** Takes nothing; loads the policy filters' module (once); resolves when loaded. */
export function loadPolicyFilters(): Promise<void> {
  policyLoading ??= import('./filters/policy-filters.js').then((m) => {
    policyFilters = m;
  }, (err: unknown) => {
    policyLoading = null; // let a later config try again
    throw err;
  });
  return policyLoading;
}

/** Takes a config; returns null when every feature module it uses is loaded, else a promise settled once they are. */
export function loadFeaturesFor(config: Bootstrap): Promise<void> | null {
  if (policyFilters !== null) return null;
  const needsPolicy = config.listeners.some((l) => l.filterChains.some((c) => usesPolicyFilters(c.hcm.httpFilters)));
  return needsPolicy ? loadPolicyFilters() : null;
}
