// The store's served handler, instance and rule resources as the dispatcher
// runs them: expressions compiled (the store already refused any that do not
// compile, so a failure here means the resource set is inconsistent, and the
// runtime keeps its old rules), references resolved the way Istio resolves
// them (`name` in the rule's namespace, `name.namespace`, or the older
// `name.kind.namespace`), instance params turned into field trees. A rule
// naming a handler or instance that does not exist is left out and logged
// (the rest of the policy still applies), as Istio's Mixer does.
import { createHash } from 'node:crypto';
import type { ValueType } from '../../src/policy/attribute-value.js';
import { compileExpression, compileExpressionOfType } from '../../src/policy/expression.js';
import type { IstioResource, PolicyHandler, PolicyInstance, PolicyRule } from '../config/istio-types.js';
import type { InstanceParam } from '../config/mixer-types.js';
import type { ConfigStore } from '../store/config-store.js';
import type { HandlerSpec } from './adapter-pool.js';
import type { DispatchInstance, DispatchRule, FieldNode } from './rule-dispatch.js';
import type { DispatchPolicy } from './policy-runtime.js';

/** A reference that did not resolve, for the runtime's log. */
export interface PolicyProblem {
  readonly rule: string;
  readonly message: string;
}

export interface LoadedPolicy extends DispatchPolicy {
  readonly problems: readonly PolicyProblem[];
}

const fullName = (r: { metadata: { name: string; namespace: string } }): string => `${r.metadata.name}.${r.metadata.namespace}`;

/** Istio's reference forms: `a` (in ns), `a.ns`, `a.kind` / `a.kind.ns` (kind: the handler's adapter or the instance's template, ignored). */
function resolve<T>(ref: string, namespace: string, byName: ReadonlyMap<string, T>): T | undefined {
  const parts = ref.split('.');
  if (parts.length === 1) return byName.get(`${ref}.${namespace}`);
  return byName.get(ref) ?? byName.get(`${parts[0]}.${parts[parts.length - 1]}`) ?? (parts.length === 2 ? byName.get(`${parts[0]}.${namespace}`) : undefined);
}

function fieldTree(param: InstanceParam, path: string, types: Record<string, ValueType>): FieldNode {
  if (typeof param === 'string') {
    const expression = compileExpression(param);
    types[path] = expression.type;
    return { kind: 'expression', expression };
  }
  const fields = new Map<string, FieldNode>();
  for (const [key, child] of Object.entries(param)) fields.set(key, fieldTree(child, path === '' ? key : `${path}.${key}`, types));
  return { kind: 'map', fields };
}

function compileInstance(resource: PolicyInstance): DispatchInstance {
  const types: Record<string, ValueType> = {};
  const fields = new Map<string, FieldNode>();
  for (const [key, param] of Object.entries(resource.spec.params ?? {})) fields.set(key, fieldTree(param, key, types));
  return { name: fullName(resource), template: resource.spec.template, fields, valueTypes: types };
}

/** takes served resources; returns the rules and handlers they define. Throws (naming the resource) when an expression does not compile. */
export function compileDispatchPolicy(resources: readonly IstioResource[]): LoadedPolicy {
  const handlers = new Map<string, PolicyHandler>();
  const instances = new Map<string, PolicyInstance>();
  const rules: PolicyRule[] = [];
  for (const r of resources) {
    if (r.kind === 'handler') handlers.set(fullName(r), r);
    else if (r.kind === 'instance') instances.set(fullName(r), r);
    else if (r.kind === 'rule') rules.push(r);
  }
  rules.sort((a, b) => (fullName(a) < fullName(b) ? -1 : fullName(a) > fullName(b) ? 1 : 0));
  const compiledInstances = new Map<string, DispatchInstance>();
  const instanceOf = (resource: PolicyInstance): DispatchInstance => {
    const name = fullName(resource);
    let compiled = compiledInstances.get(name);
    if (compiled === undefined) {
      try {
        compiled = compileInstance(resource);
      } catch (err) {
        throw new Error(`instance ${name}: ${(err as Error).message}`);
      }
      compiledInstances.set(name, compiled);
    }
    return compiled;
  };
  const problems: PolicyProblem[] = [];
  const used = new Set<string>();
  const dispatchRules: DispatchRule[] = [];
  for (const rule of rules) {
    const name = fullName(rule);
    let match;
    try {
      match = rule.spec.match.trim() === '' ? null : compileExpressionOfType(rule.spec.match, 'BOOL');
    } catch (err) {
      throw new Error(`rule ${name} spec.match: ${(err as Error).message}`);
    }
    const actions = [];
    for (const action of rule.spec.actions) {
      const handler = resolve(action.handler, rule.metadata.namespace, handlers);
      if (handler === undefined) {
        problems.push({ rule: name, message: `handler ${action.handler} does not exist: the action is skipped` });
        continue;
      }
      const list: DispatchInstance[] = [];
      for (const ref of action.instances) {
        const instance = resolve(ref, rule.metadata.namespace, instances);
        if (instance === undefined) problems.push({ rule: name, message: `instance ${ref} does not exist: it is left out` });
        else list.push(instanceOf(instance));
      }
      used.add(fullName(handler));
      actions.push({ handler: fullName(handler), instances: list });
    }
    dispatchRules.push({ name, match, actions });
  }
  const specs: HandlerSpec[] = [...handlers.values()].filter((h) => used.has(fullName(h))).map((h) => ({
    name: fullName(h), adapter: h.spec.adapter, params: h.spec.params,
    fingerprint: createHash('sha256').update(JSON.stringify([h.spec.adapter, h.spec.params])).digest('base64url'),
  }));
  const key = createHash('sha256').update(JSON.stringify([
    rules.map((r) => [fullName(r), r.spec]), [...instances.values()].map((i) => [fullName(i), i.spec]), specs.map((s) => [s.name, s.fingerprint]),
  ])).digest('base64url');
  return { rules: dispatchRules, handlers: specs, key, problems };
}

/** takes the config store; returns the policy its served resources define. */
export function loadDispatchPolicy(store: ConfigStore): LoadedPolicy {
  return compileDispatchPolicy(store.resources());
}
