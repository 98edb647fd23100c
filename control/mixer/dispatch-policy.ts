// The store's served handler, instance and rule resources as the dispatcher
// runs them: buildPolicyConfig (policy-config.ts) resolves and compiles them;
// here they become the dispatcher's rules and the pool's handler specs, with
// a key that changes only when one of those resources does (other config
// changes leave the policy, and the handlers' state, alone).
import { createHash } from 'node:crypto';
import type { IstioResource } from '../config/istio-types.js';
import type { ConfigStore } from '../store/config-store.js';
import { buildPolicyConfig, type PolicyConfig } from './policy-config.js';
import type { HandlerSpec } from './adapter-pool.js';
import type { DispatchRule } from './rule-dispatch.js';
import type { DispatchPolicy } from './policy-runtime.js';
import { isWorkloadAttribute } from './workload-attribute-bag.js';

const POLICY_KINDS: ReadonlySet<string> = new Set(['handler', 'instance', 'rule']);

/** takes a compiled policy; returns what the dispatcher and the pool run. */
export function dispatchPolicyOf(config: PolicyConfig, key: string): DispatchPolicy {
  const rules: DispatchRule[] = config.rules.map((rule) => ({
    name: rule.name,
    match: rule.match,
    actions: rule.actions.map((action) => ({ handler: action.handler, instances: action.instances })),
  }));
  const handlers: HandlerSpec[] = [...config.handlers.values()].map((h) => ({ name: h.name, adapter: h.adapter, params: h.params, fingerprint: h.fingerprint }));
  const problems = config.findings.map((f) => ({ rule: `${f.resource.kind} ${f.resource.metadata.name}.${f.resource.metadata.namespace}`, message: f.message }));
  const readsWorkload = config.rules.some((rule) => (rule.match?.attributes ?? []).some(isWorkloadAttribute)
    || rule.actions.some((action) => action.instances.some((instance) => instance.attributes.some(isWorkloadAttribute))));
  return { rules, handlers, key, problems, readsWorkload };
}

/** takes served resources; returns a digest of the policy kinds among them. */
export function policyKey(resources: readonly IstioResource[]): string {
  const hash = createHash('sha256');
  for (const r of resources) {
    if (!POLICY_KINDS.has(r.kind)) continue;
    hash.update(JSON.stringify([r.kind, r.metadata.namespace, r.metadata.name, r.spec]));
  }
  return hash.digest('base64url');
}

/** takes the config store; returns the policy its served resources define. */
export function loadDispatchPolicy(store: ConfigStore): DispatchPolicy {
  const resources = store.resources();
  return dispatchPolicyOf(buildPolicyConfig(resources), policyKey(resources));
}
