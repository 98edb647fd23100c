// The `rule` kind (config.istio.io/v1alpha2): when `match` (an expression;
// empty matches every request) holds, hand the named instances to the named
// handler. Names follow Istio's short-name rules: `name` in the rule's
// namespace, or `name.namespace`; control/mixer/policy-config.ts resolves them
// against the served handlers and instances.
import { ValueType } from '../../src/policy/attribute-value.js';
import type { ValueReader } from '../../src/config/yaml-reader.js';
import { markLine, type SpecContext } from './istio-fields.js';
import { readExpressionField } from './mixer-expression-field.js';
import type { PolicyRuleAction, PolicyRuleSpec } from './mixer-types.js';

/** name, name.namespace, or Istio's older name.kind.namespace (DNS labels). */
const REFERENCE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?){0,2}$/;
/** A rule with more actions is a mistake, not a policy. */
const MAX_ACTIONS = 64;
const MAX_INSTANCES = 64;

function readReference(v: ValueReader, cx: SpecContext): string | undefined {
  const text = v.nonEmptyString();
  if (text === undefined) return undefined;
  if (!REFERENCE.test(text)) {
    v.problem(`is not a resource name ("name" or "name.namespace"): "${text}"`);
    return undefined;
  }
  markLine(cx, v);
  return text;
}

function readAction(v: ValueReader, cx: SpecContext): PolicyRuleAction | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const handlerField = obj.field('handler');
  handlerField.require();
  const handler = readReference(handlerField, cx);
  const instancesField = obj.field('instances');
  instancesField.require();
  const items = instancesField.list();
  if (!instancesField.missing && items.length === 0) instancesField.problem('must name at least one instance');
  if (items.length > MAX_INSTANCES) instancesField.problem(`names ${items.length} instances; at most ${MAX_INSTANCES} are allowed`);
  const instances = items.map((item) => readReference(item, cx));
  const nameField = obj.field('name');
  const name = nameField.missing ? undefined : nameField.nonEmptyString();
  obj.done();
  if (handler === undefined || items.length === 0 || items.length > MAX_INSTANCES || instances.some((i) => i === undefined)) return undefined;
  if (!nameField.missing && name === undefined) return undefined;
  return { handler, instances: instances as string[], ...(name === undefined ? {} : { name }) };
}

export function readPolicyRuleSpec(v: ValueReader, cx: SpecContext): PolicyRuleSpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const matchField = obj.field('match');
  let match: string | undefined = '';
  if (!matchField.missing) {
    // `match: ""` (or blank) matches everything, as a missing match does; `match: true` is the expression true.
    const blank = matchField.isScalarString() && (matchField.string() ?? '').trim() === '';
    match = blank ? '' : readExpressionField(matchField, [ValueType.BOOL], 'a rule\'s match')?.text;
    markLine(cx, matchField);
  }
  const actionsField = obj.field('actions');
  actionsField.require();
  const items = actionsField.list();
  if (!actionsField.missing && items.length === 0) actionsField.problem('must list at least one action');
  if (items.length > MAX_ACTIONS) actionsField.problem(`lists ${items.length} actions; at most ${MAX_ACTIONS} are allowed`);
  const actions = items.map((item) => readAction(item, cx));
  obj.done();
  if (match === undefined || items.length === 0 || items.length > MAX_ACTIONS || actions.some((a) => a === undefined)) return undefined;
  return { match: match.trim() === '' ? '' : match, actions: actions as PolicyRuleAction[] };
}
