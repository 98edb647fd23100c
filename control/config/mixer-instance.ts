// The `instance` kind (config.istio.io/v1alpha2): a template (what an adapter
// is handed) whose params are expressions over request attributes, typed per
// template as Istio's templates type them (listentry.value is a string or an
// IP address, logentry.timestamp a timestamp, ...). Every expression is
// compiled here so a mistake is refused with its field and column.
import { ValueType } from '../../src/policy/attribute-value.js';
import type { ValueReader } from '../../src/config/yaml-reader.js';
import type { TemplateKind } from '../mixer/adapter.js';
import { markLine, readFreeMap, type SpecContext } from './istio-fields.js';
import { readExpressionField } from './mixer-expression-field.js';
import type { InstanceParam, PolicyInstanceSpec } from './mixer-types.js';

export const TEMPLATE_KINDS: readonly TemplateKind[] = ['checknothing', 'listentry', 'quota', 'metric', 'logentry', 'authorization'];

/** A param: one expression (of the types listed, or any), a map of expressions with free keys, or an object of named params. */
export type ParamSchema =
  | { readonly kind: 'expression'; readonly types: readonly ValueType[] | null; readonly required?: boolean }
  | { readonly kind: 'map' }
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, ParamSchema>> };

const { STRING, IP_ADDRESS, TIMESTAMP } = ValueType;
const expr = (types: readonly ValueType[] | null, required = false): ParamSchema => ({ kind: 'expression', types, required });
const MAP: ParamSchema = { kind: 'map' };

/** Each template's params (Istio's template protos: listentry, quota, metric, logentry, authorization, checknothing). */
export const TEMPLATE_PARAMS: Readonly<Record<TemplateKind, Readonly<Record<string, ParamSchema>>>> = {
  checknothing: {},
  listentry: { value: expr([STRING, IP_ADDRESS], true) },
  quota: { dimensions: MAP },
  metric: { value: expr(null, true), dimensions: MAP },
  logentry: { severity: expr([STRING]), timestamp: expr([TIMESTAMP]), variables: MAP },
  authorization: {
    subject: { kind: 'object', fields: { user: expr([STRING]), groups: expr([STRING]), properties: MAP } },
    action: { kind: 'object', fields: { namespace: expr([STRING]), service: expr([STRING]), method: expr([STRING]), path: expr([STRING]), properties: MAP } },
  },
};

/** Reads params of one schema; returns them, or undefined when any part had a problem. */
function readParam(v: ValueReader, schema: ParamSchema, what: string): InstanceParam | undefined {
  switch (schema.kind) {
    case 'expression':
      return readExpressionField(v, schema.types, what)?.text;
    case 'map': {
      let ok = true;
      const out = readFreeMap(v, (value, key) => {
        const text = readExpressionField(value, null, `${what}["${key}"]`)?.text;
        if (text === undefined) ok = false;
        return text;
      });
      return ok && (v.missing || v.isMap()) ? out : undefined;
    }
    case 'object':
      return readFields(v, schema.fields, what);
  }
}

function readFields(v: ValueReader, fields: Readonly<Record<string, ParamSchema>>, what: string): Record<string, InstanceParam> | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const out: Record<string, InstanceParam> = {};
  let ok = true;
  for (const [name, schema] of Object.entries(fields)) {
    const field = obj.field(name);
    if (field.missing) {
      if (schema.kind === 'expression' && schema.required === true) {
        field.problem(`is required (${what} needs it)`);
        ok = false;
      }
      continue;
    }
    const value = readParam(field, schema, `${what}.${name}`);
    if (value === undefined) ok = false;
    else out[name] = value;
  }
  obj.done();
  return ok ? out : undefined;
}

export function readPolicyInstanceSpec(v: ValueReader, cx: SpecContext): PolicyInstanceSpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(['compiledTemplate', 'template'] as const, true);
  let template: TemplateKind | undefined;
  if (which !== null && which !== undefined) {
    const field = obj.field(which);
    template = field.enumOf(TEMPLATE_KINDS);
    markLine(cx, field);
  }
  const paramsField = obj.field('params');
  let params: Record<string, InstanceParam> | undefined;
  if (template !== undefined) {
    const schema = TEMPLATE_PARAMS[template];
    if (paramsField.missing) {
      const required = Object.entries(schema).filter(([, s]) => s.kind === 'expression' && s.required === true).map(([n]) => n);
      if (required.length > 0) paramsField.problem(`is required: a ${template} instance needs ${required.join(', ')}`);
      else params = {};
    } else {
      params = readFields(paramsField, schema, template);
    }
  } else {
    paramsField.plain(); // read (so it is not reported as unknown); its schema depends on the template
  }
  obj.done();
  if (template === undefined || params === undefined) return undefined;
  return { template, params };
}
