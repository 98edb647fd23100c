// Runs the policy rules for one Check or one Report batch (Istio's Mixer
// dispatcher). A Check evaluates every rule's match with a ReferenceRecorder
// (so the answer names exactly the attributes read), builds the instances the
// matching rules' actions name, calls their handlers on the adapter pool in
// parallel, and combines the answers: any denial wins (the first in rule
// order), valid_duration and valid_use_count are the smallest any handler
// gave. Quotas asked for in the Check go to the handlers of matching rules
// that name that quota instance. A Report builds the metric/logentry
// instances of matching rules and hands each handler its batch, without
// waiting.
import type { AttributeBag, AttributeValue, ValueType } from '../../src/policy/attribute-value.js';
import { StatusCode, type CheckResult, type InstanceValue, type TemplateKind } from './adapter.js';
import { HandlerCallError, PoolFullError, type AdapterPool } from './adapter-pool.js';
import { ReferenceRecorder, type AttributeMatch } from './reference-recorder.js';
import { WorkloadAttributeBag } from './workload-attribute-bag.js';
import { ReportRowsBuilder } from './report-rows.js';

/** What the dispatcher needs of a compiled expression (src/policy's CompiledExpression has this shape). */
export interface Evaluable {
  evaluate(bag: AttributeBag, refs?: ReferenceRecorder): AttributeValue | undefined;
}

/** An instance field: an expression, a map of fields (dimensions, variables), or a constant. */
export type FieldNode =
  | { readonly kind: 'expression'; readonly expression: Evaluable }
  | { readonly kind: 'map'; readonly fields: ReadonlyMap<string, FieldNode> }
  | { readonly kind: 'constant'; readonly value: unknown };

export interface DispatchInstance {
  /** name.namespace, as rules and Check quotas name it. */
  readonly name: string;
  readonly template: TemplateKind;
  readonly fields: ReadonlyMap<string, FieldNode>;
  /** Each expression field's type by path ("value", "dimensions.code"): adapters tell a DURATION from a TIMESTAMP by it. */
  readonly valueTypes?: Readonly<Record<string, ValueType>>;
}

export interface DispatchAction {
  readonly handler: string;
  readonly instances: readonly DispatchInstance[];
}

export interface DispatchRule {
  readonly name: string;
  /** null: matches every request (an empty `match`). */
  readonly match: Evaluable | null;
  readonly actions: readonly DispatchAction[];
}

export interface QuotaRequest {
  readonly amount: number;
  readonly bestEffort: boolean;
}

export interface QuotaAnswer {
  readonly code: number;
  readonly message: string;
  readonly grantedAmount: number;
  readonly validDurationMs: number;
  readonly referenced: readonly AttributeMatch[];
}

export interface CheckAnswer {
  readonly code: number;
  readonly message: string;
  readonly validDurationMs: number;
  readonly validUseCount: number;
  readonly referenced: readonly AttributeMatch[];
  readonly quotas: ReadonlyMap<string, QuotaAnswer>;
}

/** Istio's defaults when no handler limits reuse: one minute, 10000 uses. */
export const DEFAULT_VALID_DURATION_MS = 60_000;
export const DEFAULT_VALID_USE_COUNT = 10_000;
/** Quota names one Check may ask for (more are answered INVALID_ARGUMENT). */
export const MAX_QUOTAS_PER_CHECK = 64;

const CHECK_TEMPLATES: ReadonlySet<TemplateKind> = new Set(['checknothing', 'listentry', 'authorization']);
const REPORT_TEMPLATES: ReadonlySet<TemplateKind> = new Set(['metric', 'logentry']);

function evaluateField(node: FieldNode, bag: AttributeBag, refs: ReferenceRecorder | undefined): unknown {
  switch (node.kind) {
    case 'expression': return node.expression.evaluate(bag, refs);
    case 'constant': return node.value;
    case 'map': {
      const out: Record<string, unknown> = Object.create(null);
      for (const [key, child] of node.fields) {
        const value = evaluateField(child, bag, refs);
        if (value !== undefined) out[key] = value;
      }
      return out;
    }
  }
}

/** takes an instance and a request's attributes; returns the instance's values (absent expressions leave their field out). */
export function buildInstance(instance: DispatchInstance, bag: AttributeBag, refs?: ReferenceRecorder): InstanceValue {
  const fields: Record<string, unknown> = {};
  for (const [key, node] of instance.fields) {
    const value = evaluateField(node, bag, refs);
    if (value !== undefined) fields[key] = value;
  }
  return instance.valueTypes === undefined ? { name: instance.name, template: instance.template, fields } : { name: instance.name, template: instance.template, fields, valueTypes: instance.valueTypes };
}

const matches = (rule: DispatchRule, bag: AttributeBag, refs?: ReferenceRecorder): boolean => rule.match === null || rule.match.evaluate(bag, refs) === true;

/** The quotas of an answer to a Check that asked for none (shared: never written). */
const NO_QUOTAS: ReadonlyMap<string, QuotaAnswer> = new Map();
/** An action's check instances when all of them are constant: one shared, frozen list. */
const constantLists = new WeakMap<DispatchAction, readonly InstanceValue[] | null>();

/** takes an instance definition; returns whether every field is a constant (nothing read from the request). */
function isConstant(instance: DispatchInstance): boolean {
  const constant = (node: FieldNode): boolean => node.kind === 'constant' || (node.kind === 'map' && [...node.fields.values()].every(constant));
  return [...instance.fields.values()].every(constant);
}

/** takes an action and a request; returns the check instances it hands its handler (null: none), shared when constant. */
function checkInstances(action: DispatchAction, bag: AttributeBag, refs: ReferenceRecorder): readonly InstanceValue[] | null {
  let shared = constantLists.get(action);
  if (shared === undefined) {
    const checks = action.instances.filter((i) => CHECK_TEMPLATES.has(i.template));
    shared = checks.length > 0 && checks.every(isConstant) ? Object.freeze(checks.map((i) => deepFreeze(buildInstance(i, bag)))) : null;
    constantLists.set(action, shared);
  }
  if (shared !== null) return shared;
  let instances: InstanceValue[] | null = null;
  for (const instance of action.instances) {
    if (!CHECK_TEMPLATES.has(instance.template)) continue;
    (instances ??= []).push(buildInstance(instance, bag, refs));
  }
  return instances;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export class RuleDispatcher {
  /** The sync part of one Check at a time records with it (nothing reads it after checkNow returns). */
  private readonly recorder = new ReferenceRecorder();

  constructor(private readonly rules: readonly DispatchRule[], private readonly pool: AdapterPool) {}

  get ruleCount(): number {
    return this.rules.length;
  }

  /** takes a request's attributes and the quotas it asks for; resolves with the combined answer. Throws PoolFullError (the caller answers UNAVAILABLE). */
  check(bag: AttributeBag, quotas: ReadonlyMap<string, QuotaRequest>, deduplicationId: string): Promise<CheckAnswer> {
    try {
      const answer = this.checkNow(bag, quotas, deduplicationId);
      return answer instanceof Promise ? answer : Promise.resolve(answer);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * check() without a promise when none is needed: inline handlers only and no quotas (the common case) answer at
   * once, allocating little (one recorder reused, interned references, constant instances shared). Throws
   * PoolFullError; a returned promise may reject with it.
   */
  checkNow(bag: AttributeBag, quotas: ReadonlyMap<string, QuotaRequest>, deduplicationId: string): CheckAnswer | Promise<CheckAnswer> {
    const refs = this.recorder;
    refs.reset();
    refs.redirect = bag instanceof WorkloadAttributeBag ? bag : null;
    // Inline answers are folded as they come (first denial in rule order, smallest validity); once a handler answers
    // later, the fold so far becomes the first entry of the list the wait combines (the same rule, same order).
    let code: number = StatusCode.OK;
    let message = '';
    let validDurationMs = DEFAULT_VALID_DURATION_MS;
    let validUseCount = DEFAULT_VALID_USE_COUNT;
    let waits: (CheckResult | Promise<CheckResult>)[] | null = null;
    for (const rule of this.rules) {
      if (!matches(rule, bag, refs)) continue;
      for (const action of rule.actions) {
        const instances = checkInstances(action, bag, refs);
        if (instances === null) continue;
        const call = this.callCheck(action.handler, instances);
        if (waits !== null) {
          waits.push(call);
        } else if (call instanceof Promise) {
          waits = [{ code, message, validDurationMs, validUseCount }, call];
        } else {
          if (code === StatusCode.OK && call.code !== StatusCode.OK) {
            code = call.code;
            message = call.message;
          }
          validDurationMs = Math.min(validDurationMs, call.validDurationMs);
          validUseCount = Math.min(validUseCount, call.validUseCount);
        }
      }
    }
    const referenced = refs.matches();
    if (waits === null && quotas.size === 0) {
      return { code, message, validDurationMs: Math.max(0, validDurationMs), validUseCount: Math.max(0, validUseCount), referenced, quotas: NO_QUOTAS };
    }
    return this.settle(waits ?? [{ code, message, validDurationMs, validUseCount }], referenced, bag, quotas, deduplicationId);
  }

  private async settle(calls: (CheckResult | Promise<CheckResult>)[], referenced: readonly AttributeMatch[], bag: AttributeBag, quotas: ReadonlyMap<string, QuotaRequest>, deduplicationId: string): Promise<CheckAnswer> {
    const quotaCalls = [...quotas].slice(0, MAX_QUOTAS_PER_CHECK).map(async ([name, request]) => [name, await this.quota(bag, name, request, deduplicationId)] as const);
    const [results, quotaAnswers] = await Promise.all([Promise.all(calls), Promise.all(quotaCalls)]);
    return combine(results, referenced, quotaAnswers);
  }

  /** An inline handler answers at once (no promise, no pool hop); a failure becomes a denial either way. */
  private callCheck(handler: string, instances: readonly InstanceValue[]): CheckResult | Promise<CheckResult> {
    try {
      const result = this.pool.checkNow(handler, instances);
      return result instanceof Promise ? result.catch(handlerFailure) : result;
    } catch (err) {
      return handlerFailure(err);
    }
  }

  private async quota(bag: AttributeBag, asked: string, request: QuotaRequest, deduplicationId: string): Promise<QuotaAnswer> {
    const name = quotaInstanceName(asked);
    const refs = new ReferenceRecorder();
    refs.redirect = bag instanceof WorkloadAttributeBag ? bag : null;
    const calls: Promise<{ grantedAmount: number; validDurationMs: number }>[] = [];
    for (const rule of this.rules) {
      const instance = rule.actions.flatMap((a) => a.instances.filter((i) => i.name === name && i.template === 'quota').map((i) => [a.handler, i] as const));
      if (instance.length === 0 || !matches(rule, bag, refs)) continue;
      for (const [handler, definition] of instance) {
        const value = buildInstance(definition, bag, refs);
        calls.push(this.pool.quota(handler, value, { amount: request.amount, bestEffort: request.bestEffort, deduplicationId }));
      }
    }
    if (calls.length === 0) {
      // No rule limits this quota: it is granted in full, as Mixer does.
      return { code: StatusCode.OK, message: '', grantedAmount: request.amount, validDurationMs: DEFAULT_VALID_DURATION_MS, referenced: refs.matches() };
    }
    let grantedAmount = request.amount;
    let validDurationMs = DEFAULT_VALID_DURATION_MS;
    try {
      for (const result of await Promise.all(calls)) {
        grantedAmount = Math.min(grantedAmount, result.grantedAmount);
        validDurationMs = Math.min(validDurationMs, result.validDurationMs);
      }
    } catch (err) {
      if (err instanceof PoolFullError) throw err;
      return { code: err instanceof HandlerCallError ? err.code : StatusCode.UNAVAILABLE, message: (err as Error).message, grantedAmount: 0, validDurationMs: 0, referenced: refs.matches() };
    }
    const enough = grantedAmount >= request.amount || (request.bestEffort && grantedAmount > 0);
    return {
      code: enough ? StatusCode.OK : StatusCode.RESOURCE_EXHAUSTED,
      message: enough ? '' : `quota ${asked} exhausted: asked for ${request.amount}, granted ${grantedAmount}`,
      grantedAmount, validDurationMs: Math.max(0, validDurationMs), referenced: refs.matches(),
    };
  }

  /**
   * takes a Report batch; hands each handler its instances (a handler on the pool gets them packed as rows,
   * report-rows.ts). Returns how many handler batches were dropped (pool busy).
   */
  report(bags: readonly AttributeBag[]): number {
    const inline = new Map<string, InstanceValue[]>();
    const onLanes = new Map<string, ReportRowsBuilder>();
    const pool = this.pool;
    for (const bag of bags) {
      for (const rule of this.rules) {
        if (!matches(rule, bag)) continue;
        for (const action of rule.actions) {
          const handler = action.handler;
          for (const instance of action.instances) {
            if (!REPORT_TEMPLATES.has(instance.template)) continue;
            if (pool.isInline(handler)) {
              let list = inline.get(handler);
              if (list === undefined) inline.set(handler, (list = []));
              list.push(buildInstance(instance, bag));
            } else {
              let rows = onLanes.get(handler);
              if (rows === undefined) onLanes.set(handler, (rows = new ReportRowsBuilder()));
              rows.add(instance, bag);
            }
          }
        }
      }
    }
    let dropped = 0;
    for (const [handler, instances] of inline) if (!pool.report(handler, instances)) dropped++;
    for (const [handler, rows] of onLanes) if (!pool.reportRows(handler, rows)) dropped++;
    return dropped;
  }
}

/** Istio's proxies name a quota `name.kind.namespace` (requestcount.quota.istio-system); instances are `name.namespace`. */
function quotaInstanceName(asked: string): string {
  const parts = asked.split('.');
  return parts.length === 3 ? `${parts[0]}.${parts[2]}` : asked;
}

/** Any denial wins (the first in rule order); validity is the smallest any handler gave. */
function combine(results: readonly CheckResult[], referenced: readonly AttributeMatch[], quotaAnswers: readonly (readonly [string, QuotaAnswer])[]): CheckAnswer {
  let code: number = StatusCode.OK;
  let message = '';
  let validDurationMs = DEFAULT_VALID_DURATION_MS;
  let validUseCount = DEFAULT_VALID_USE_COUNT;
  for (const result of results) {
    if (code === StatusCode.OK && result.code !== StatusCode.OK) {
      code = result.code;
      message = result.message;
    }
    validDurationMs = Math.min(validDurationMs, result.validDurationMs);
    validUseCount = Math.min(validUseCount, result.validUseCount);
  }
  return { code, message, validDurationMs: Math.max(0, validDurationMs), validUseCount: Math.max(0, validUseCount), referenced, quotas: quotaAnswers.length === 0 ? NO_QUOTAS : new Map(quotaAnswers) };
}

/** A handler that failed or timed out denies with its reason (Mixer's rule: an adapter error is not an OK); a full pool fails the whole Check. */
function handlerFailure(err: unknown): CheckResult {
  if (err instanceof PoolFullError) throw err;
  const code = err instanceof HandlerCallError ? err.code : StatusCode.UNAVAILABLE;
  return { code, message: (err as Error).message, validDurationMs: 0, validUseCount: 0 };
}
