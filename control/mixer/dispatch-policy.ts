// The store's handler, instance and rule resources as the dispatcher runs
// them (placeholder until the config kinds land: no policy).
import type { ConfigStore } from '../store/config-store.js';
import type { DispatchPolicy } from './policy-runtime.js';

/** takes the config store; returns the policy its served resources define. */
export function loadDispatchPolicy(_store: ConfigStore): DispatchPolicy {
  return { rules: [], handlers: [], key: 'none' };
}
