// Envoy's three ways of writing a share of requests: type.v3.FractionalPercent
// (numerator over HUNDRED, TEN_THOUSAND or MILLION), core.v3.RuntimeFractionalPercent
// (a FractionalPercent default plus a runtime key) and type.v3.Percent
// (a double 0-100). The first two become a probability in [0, 1].

import type { Fraction } from './bootstrap-types.js';
import { UINT32_MAX, type ValueReader } from './yaml-reader.js';

const DENOMINATORS = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 } as const;
type DenominatorName = keyof typeof DENOMINATORS;

/**
 * type.v3.FractionalPercent. A numerator above its denominator means "always",
 * as Envoy caps it; `{}` is 0 (Envoy's value for an unset percentage).
 */
export function readFractionalPercent(v: ValueReader): Fraction | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const numeratorField = obj.field('numerator');
  const numerator = numeratorField.integer(0, UINT32_MAX);
  const denominatorField = obj.field('denominator');
  const denominator = denominatorField.missing ? 'HUNDRED' : denominatorField.enumOf(Object.keys(DENOMINATORS) as DenominatorName[]);
  obj.done();
  if ((numerator === undefined && !numeratorField.missing) || denominator === undefined) return undefined;
  return Math.min(1, (numerator ?? 0) / DENOMINATORS[denominator]);
}

/**
 * core.v3.RuntimeFractionalPercent: default_value is required (as in Envoy);
 * runtime_key is accepted and ignored, since the proxy has no runtime layer.
 */
export function readRuntimeFraction(v: ValueReader): Fraction | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const valueField = obj.field('default_value');
  valueField.require();
  const fraction = valueField.missing ? undefined : readFractionalPercent(valueField);
  obj.field('runtime_key').string();
  obj.done();
  return fraction;
}

/** type.v3.Percent `{ value }`, 0-100 (fractions allowed). */
export function readPercent(v: ValueReader): number | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const value = obj.field('value').number(0, 100) ?? (obj.has('value') ? undefined : 0);
  obj.done();
  return value;
}
