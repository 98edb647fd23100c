// A Report batch's instances for a handler on the adapter pool, packed as
// rows: the instance definitions' names and field layouts once per batch
// (shapes), then per instance its shape's index and its field values in
// layout order, in one flat array. The pool thread rebuilds the same
// InstanceValue objects (unpackRows). Structured-cloning a batch of instance
// objects (every field name, nested objects, valueTypes, per instance) was
// most of the gRPC thread's CPU per Report entry; a flat array of values
// clones a fraction of it, and the gRPC thread builds no instance objects.
// unpackRows(structuredClone(rows)) deep-equals
// structuredClone(instances built by buildInstance) (a test holds it).
import type { AttributeBag } from '../../src/policy/attribute-value.js';
import type { InstanceValue, TemplateKind } from './adapter.js';
import type { DispatchInstance, Evaluable, FieldNode } from './rule-dispatch.js';

/** A field layout: [key, sub-layout] pairs in field order; a null sub-layout is one value slot, an array a map of fields. */
export type FieldLayout = readonly (readonly [string, FieldLayout | null])[];

/** One instance definition as the pool thread rebuilds it. */
export interface RowShape {
  readonly name: string;
  readonly template: TemplateKind;
  readonly valueTypes?: Readonly<Record<string, unknown>>;
  readonly layout: FieldLayout;
}

/** What a pool thread gets for one handler's Report batch. */
export interface ReportRows {
  readonly shapes: readonly RowShape[];
  /** Per instance: its shape's index, then one value per slot of the shape's layout (undefined: absent). */
  readonly rows: readonly unknown[];
}

/** An instance definition compiled for packing: its shape and its slots' sources (an expression, else a constant). */
interface PackedInstance {
  readonly shape: RowShape;
  readonly expressions: readonly (Evaluable | null)[];
  readonly constants: readonly unknown[];
}

const compiled = new WeakMap<DispatchInstance, PackedInstance>();

function compile(instance: DispatchInstance): PackedInstance {
  const expressions: (Evaluable | null)[] = [];
  const constants: unknown[] = [];
  const layoutOf = (fields: ReadonlyMap<string, FieldNode>): FieldLayout => {
    const layout: (readonly [string, FieldLayout | null])[] = [];
    for (const [key, node] of fields) {
      if (node.kind === 'map') {
        layout.push([key, layoutOf(node.fields)]);
        continue;
      }
      layout.push([key, null]);
      expressions.push(node.kind === 'expression' ? node.expression : null);
      constants.push(node.kind === 'constant' ? node.value : undefined);
    }
    return layout;
  };
  const layout = layoutOf(instance.fields);
  const shape: RowShape = instance.valueTypes === undefined
    ? { name: instance.name, template: instance.template, layout }
    : { name: instance.name, template: instance.template, valueTypes: instance.valueTypes, layout };
  return { shape, expressions, constants };
}

/** One handler's rows, filled instance by instance as the dispatcher walks a Report batch. */
export class ReportRowsBuilder implements ReportRows {
  readonly shapes: RowShape[] = [];
  readonly rows: unknown[] = [];
  private readonly shapeIndex = new Map<DispatchInstance, number>();

  /** takes an instance definition and a request's attributes; adds the instance's row (what buildInstance would make). */
  add(instance: DispatchInstance, bag: AttributeBag): void {
    let index = this.shapeIndex.get(instance);
    let packed = compiled.get(instance);
    if (packed === undefined) compiled.set(instance, (packed = compile(instance)));
    if (index === undefined) {
      index = this.shapes.length;
      this.shapes.push(packed.shape);
      this.shapeIndex.set(instance, index);
    }
    const rows = this.rows;
    rows.push(index);
    const expressions = packed.expressions;
    for (let i = 0; i < expressions.length; i++) {
      const expression = expressions[i]!;
      rows.push(expression === null ? packed.constants[i] : expression.evaluate(bag));
    }
  }
}

function setField(target: Record<string, unknown>, key: string, value: unknown): void {
  // A key named __proto__ is an own field, as a structured clone of buildInstance's object has it.
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** Fills target from rows[at...] by layout; returns the index after the last slot read. */
function fill(target: Record<string, unknown>, layout: FieldLayout, rows: readonly unknown[], at: number): number {
  for (const [key, sub] of layout) {
    if (sub === null) {
      const value = rows[at++];
      if (value !== undefined) setField(target, key, value);
    } else {
      const map: Record<string, unknown> = {};
      at = fill(map, sub, rows, at);
      setField(target, key, map);
    }
  }
  return at;
}

const slotCount = (layout: FieldLayout): number => layout.reduce((n, [, sub]) => n + (sub === null ? 1 : slotCount(sub)), 0);

/** takes a handler's rows (as the pool thread received them); returns its instances. Throws RangeError on rows that do not fit their shapes. */
export function unpackRows(batch: ReportRows): InstanceValue[] {
  const { shapes, rows } = batch;
  const sizes = shapes.map((s) => slotCount(s.layout));
  const instances: InstanceValue[] = [];
  let at = 0;
  while (at < rows.length) {
    const index = rows[at++];
    const shape = typeof index === 'number' ? shapes[index] : undefined;
    if (shape === undefined || at + sizes[index as number]! > rows.length) throw new RangeError(`report rows do not fit their shapes at ${at - 1}`);
    const fields: Record<string, unknown> = {};
    at = fill(fields, shape.layout, rows, at);
    instances.push(shape.valueTypes === undefined
      ? { name: shape.name, template: shape.template, fields }
      : { name: shape.name, template: shape.template, fields, valueTypes: shape.valueTypes as InstanceValue['valueTypes'] });
  }
  return instances;
}
