// The policy in force, compiled from the served handler, instance and rule
// resources (each already validated on its own by the store's parser): names
// resolved with Istio's short-name rules, expressions compiled, everything
// frozen. What a rule names but the served set lacks (a handler not yet
// applied, an instance whose template the handler's adapter does not take)
// drops that action and is reported as a finding (`isthmus analyze`, the
// store's warnings): resources arrive one at a time, so this never rejects.
import { isProducedAttribute } from './produced-attributes.js';
import type { ValueType } from '../../src/policy/attribute-value.js';
import { compileExpression, type CompiledExpression } from '../../src/policy/expression.js';
import type { IstioResource, PolicyHandler, PolicyInstance, PolicyRule } from '../config/istio-types.js';
import type { InstanceParam } from '../config/mixer-types.js';
import type { TemplateKind } from './adapter.js';
import { adapterByName } from './adapter-registry.js';

/** An instance field: an expression, a map of fields (dimensions, variables, subject, action), or a constant. */
export type InstanceField =
  | { readonly kind: 'expression'; readonly expression: CompiledExpression }
  | { readonly kind: 'map'; readonly fields: ReadonlyMap<string, InstanceField> }
  | { readonly kind: 'constant'; readonly value: unknown };

export interface PolicySource {
  readonly file: string;
  readonly line: number;
}

export interface PolicyHandlerConfig {
  /** name.namespace */
  readonly name: string;
  readonly adapter: string;
  /** Validated by the adapter's parseParams (structured-clonable). */
  readonly params: unknown;
  /** Changes when the adapter or params do (a reload keeps a handler whose fingerprint is unchanged). */
  readonly fingerprint: string;
  readonly templates: readonly TemplateKind[];
  readonly source: PolicySource;
}

export interface PolicyInstanceConfig {
  /** name.namespace, as rules and a Check's quota names name it. */
  readonly name: string;
  readonly template: TemplateKind;
  readonly fields: ReadonlyMap<string, InstanceField>;
  /** The type of each expression field by its path ("value", "dimensions.code", "subject.user"). */
  readonly valueTypes: Readonly<Record<string, ValueType>>;
  /** Every attribute its expressions may read (sorted). */
  readonly attributes: readonly string[];
  readonly source: PolicySource;
}

export interface PolicyActionConfig {
  /** The handler's name.namespace (a key of PolicyConfig.handlers). */
  readonly handler: string;
  readonly instances: readonly PolicyInstanceConfig[];
  readonly name?: string;
}

export interface PolicyRuleConfig {
  /** name.namespace */
  readonly name: string;
  readonly namespace: string;
  /** null: matches every request (an empty `match`). */
  readonly match: CompiledExpression | null;
  /** Only the actions whose handler and instances resolved. */
  readonly actions: readonly PolicyActionConfig[];
  readonly source: PolicySource;
}

export interface PolicyFinding {
  readonly resource: IstioResource;
  /** The field at fault (`spec.actions[0].handler`). */
  readonly path: string;
  readonly severity: 'error' | 'warning';
  readonly message: string;
}

export interface PolicyConfig {
  readonly handlers: ReadonlyMap<string, PolicyHandlerConfig>;
  readonly instances: ReadonlyMap<string, PolicyInstanceConfig>;
  /** In name order (namespace, then name), as Check evaluates them. */
  readonly rules: readonly PolicyRuleConfig[];
  readonly findings: readonly PolicyFinding[];
}

function fullName(r: IstioResource): string {
  return `${r.metadata.name}.${r.metadata.namespace}`;
}

function sourceOf(r: IstioResource): PolicySource {
  return Object.freeze({ file: r.source.file, line: r.source.line });
}

/** Compiles an instance's params (already validated) into fields, noting each expression's type by path. */
function compileParams(params: Readonly<Record<string, InstanceParam>>, prefix: string, types: Record<string, ValueType>, attributes: Set<string>): Map<string, InstanceField> {
  const fields = new Map<string, InstanceField>();
  for (const [key, param] of Object.entries(params)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (typeof param === 'string') {
      const expression = compileExpression(param);
      types[path] = expression.type;
      for (const a of expression.attributes) attributes.add(a);
      fields.set(key, Object.freeze({ kind: 'expression', expression }));
    } else {
      fields.set(key, Object.freeze({ kind: 'map', fields: compileParams(param, path, types, attributes) }));
    }
  }
  return fields;
}

function compileInstance(r: PolicyInstance): PolicyInstanceConfig {
  const types: Record<string, ValueType> = {};
  const attributes = new Set<string>();
  const fields = compileParams(r.spec.params, '', types, attributes);
  return Object.freeze({
    name: fullName(r), template: r.spec.template, fields, valueTypes: Object.freeze(types), attributes: Object.freeze([...attributes].sort()), source: sourceOf(r),
  });
}

function compileHandler(r: PolicyHandler): PolicyHandlerConfig {
  return Object.freeze({
    name: fullName(r),
    adapter: r.spec.adapter,
    params: r.spec.params,
    fingerprint: JSON.stringify([r.spec.adapter, r.spec.params]),
    templates: adapterByName(r.spec.adapter)?.templates ?? [],
    source: sourceOf(r),
  });
}

/**
 * Istio's short names: `name` is in the rule's namespace; `name.namespace` names another; Istio's older
 * `name.kind` (the rule's namespace) and `name.kind.namespace` name the kind (adapter or template) too.
 */
function resolve<T>(written: string, namespace: string, table: ReadonlyMap<string, T>, kindOf: (t: T) => string): T | string {
  const parts = written.split('.');
  const tried: string[] = [];
  const candidates: { key: string; kind?: string }[] = parts.length === 1 ? [{ key: `${written}.${namespace}` }]
    : parts.length === 2 ? [{ key: written }, { key: `${parts[0]}.${namespace}`, kind: parts[1] }]
      : [{ key: `${parts[0]}.${parts[2]}`, kind: parts[1] }];
  for (const c of candidates) {
    const found = table.get(c.key);
    tried.push(c.kind === undefined ? c.key : `${c.key} of kind ${c.kind}`);
    if (found !== undefined && (c.kind === undefined || kindOf(found) === c.kind)) return found;
  }
  return tried.join(', or ');
}

function compileRule(
  r: PolicyRule, handlers: ReadonlyMap<string, PolicyHandlerConfig>, instances: ReadonlyMap<string, PolicyInstanceConfig>, findings: PolicyFinding[],
): PolicyRuleConfig {
  const namespace = r.metadata.namespace;
  const actions: PolicyActionConfig[] = [];
  r.spec.actions.forEach((action, i) => {
    const at = `spec.actions[${i}]`;
    const handler = resolve(action.handler, namespace, handlers, (h) => h.adapter);
    if (typeof handler === 'string') {
      const known = [...handlers.keys()].sort().join(', ') || 'none';
      findings.push({ resource: r, path: `${at}.handler`, severity: 'error', message: `${at}.handler "${action.handler}" names no handler (looked for ${handler}; handlers: ${known}); this action is skipped` });
      return;
    }
    const resolved: PolicyInstanceConfig[] = [];
    action.instances.forEach((written, j) => {
      const path = `${at}.instances[${j}]`;
      const instance = resolve(written, namespace, instances, (x) => x.template);
      if (typeof instance === 'string') {
        findings.push({ resource: r, path, severity: 'error', message: `${path} "${written}" names no instance (looked for ${instance}); this action is skipped` });
      } else if (!handler.templates.includes(instance.template)) {
        findings.push({
          resource: r, path, severity: 'error',
          message: `${path} "${written}" is a ${instance.template} instance, which handler ${handler.name} (adapter ${handler.adapter}) does not take (it takes ${handler.templates.join(', ')}); this action is skipped`,
        });
      } else resolved.push(instance);
    });
    if (resolved.length !== action.instances.length) return;
    actions.push(Object.freeze({ handler: handler.name, instances: Object.freeze(resolved), ...(action.name === undefined ? {} : { name: action.name }) }));
  });
  const match = r.spec.match === '' ? null : compileExpression(r.spec.match);
  if (match !== null) warnUnproduced(r, 'spec.match', match.attributes, findings);
  return Object.freeze({ name: fullName(r), namespace, match, actions: Object.freeze(actions), source: sourceOf(r) });
}

/** A name the vocabulary has but nothing in this mesh sets is accepted, and always absent: said, not refused. */
function warnUnproduced(r: IstioResource, path: string, attributes: readonly string[], findings: PolicyFinding[]): void {
  const never = attributes.filter((a) => !isProducedAttribute(a));
  if (never.length === 0) return;
  findings.push({
    resource: r, path, severity: 'warning',
    message: `${path} reads ${never.join(', ')}, which no proxy or control plane of this mesh produces: ${never.length === 1 ? 'it is' : 'they are'} always absent`,
  });
}

function byName<T extends IstioResource>(list: T[]): T[] {
  return list.sort((a, b) => a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name));
}

/**
 * Runs a compile step of a resource the parser accepted. It fails only when what was stored was validated by another
 * version (an attribute since renamed): the resource is left out and reported, and the rest still loads.
 */
function compiled<T>(r: IstioResource, findings: PolicyFinding[], step: () => T): T | undefined {
  try {
    return step();
  } catch (err) {
    findings.push({ resource: r, path: 'spec', severity: 'error', message: `${r.kind} ${fullName(r)} is left out of the policy: ${(err as Error).message}` });
    return undefined;
  }
}

/** Takes the served resources (any kinds; only handler, instance and rule are read); returns the policy they make. */
export function buildPolicyConfig(resources: readonly IstioResource[]): PolicyConfig {
  const findings: PolicyFinding[] = [];
  const handlers = new Map<string, PolicyHandlerConfig>();
  for (const r of byName(resources.filter((x): x is PolicyHandler => x.kind === 'handler'))) {
    if (!handlers.has(fullName(r))) handlers.set(fullName(r), compileHandler(r));
  }
  const instances = new Map<string, PolicyInstanceConfig>();
  for (const r of byName(resources.filter((x): x is PolicyInstance => x.kind === 'instance'))) {
    if (instances.has(fullName(r))) continue;
    const instance = compiled(r, findings, () => compileInstance(r));
    if (instance !== undefined) {
      instances.set(fullName(r), instance);
      warnUnproduced(r, 'spec.params', instance.attributes, findings);
    }
  }
  const rules: PolicyRuleConfig[] = [];
  for (const r of byName(resources.filter((x): x is PolicyRule => x.kind === 'rule'))) {
    const rule = compiled(r, findings, () => compileRule(r, handlers, instances, findings));
    if (rule !== undefined) rules.push(rule);
  }
  return Object.freeze({ handlers, instances, rules: Object.freeze(rules), findings: Object.freeze(findings) });
}
