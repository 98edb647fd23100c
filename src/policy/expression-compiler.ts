// Compiles a checked expression tree into a tree of small evaluator objects
// (no eval, no new Function): evaluating walks it once per call, allocating
// nothing but results. Each attribute read is reported to the caller's
// ReferenceSink with the condition the answer depends on (present and its
// exact value, absent, or only a regex match), and only for what was actually
// read: `a && b` with `a` false never reads `b`. An absent attribute (with no
// `|` default) makes the result undefined, which a rule treats as no match.
import type { AttributeBag, AttributeValue, StringMap } from './attribute-value.js';
import { ValueType } from './attribute-value.js';
import type { Checked, ExprType, ListValue } from './expression-checker.js';
import { CidrRange, ipEquals, parseIpAddress } from './ip-address.js';
import { parseDuration, parseTimestamp } from './time-literals.js';
import { compileSearch, type SearchRegex } from '../config/re2-regex.js';

export type ReferenceCondition = 'ABSENCE' | 'EXACT' | 'REGEX';

/** Where evaluation reports what it read: a name, the map key ('' for the whole attribute), and how. */
export interface ReferenceSink {
  reference(name: string, mapKey: string, condition: ReferenceCondition): void;
}

/** A value during evaluation: an attribute value, or a CIDR range / literal list that only expressions hold. */
type Value = AttributeValue | CidrRange | ReadonlySet<unknown> | undefined;

export interface Evaluator {
  /** `read` is how a bare attribute below counts as read: EXACT, or REGEX under matches. */
  run(bag: AttributeBag, refs: ReferenceSink | undefined, read: ReferenceCondition): Value;
}

const hasOwn = Object.prototype.hasOwnProperty;

class Constant implements Evaluator {
  constructor(private readonly value: Value) {}
  run(): Value {
    return this.value;
  }
}

class AttributeRead implements Evaluator {
  constructor(readonly name: string) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined, read: ReferenceCondition): Value {
    const value = bag.get(this.name);
    refs?.reference(this.name, '', value === undefined ? 'ABSENCE' : read);
    return value;
  }
}

/** map attribute[key]: records the key read (present or absent), not the whole map. */
class MapAttributeKey implements Evaluator {
  constructor(private readonly name: string, private readonly key: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined, read: ReferenceCondition): Value {
    const map = bag.get(this.name) as StringMap | undefined;
    if (map === undefined) {
      refs?.reference(this.name, '', 'ABSENCE');
      return undefined;
    }
    const key = this.key.run(bag, refs, 'EXACT');
    if (typeof key !== 'string') return undefined;
    const value = hasOwn.call(map, key) ? map[key] : undefined;
    refs?.reference(this.name, key, value === undefined ? 'ABSENCE' : read);
    return value;
  }
}

/** (any map expression)[key]: the map itself was read whole by its own evaluator. */
class MapKey implements Evaluator {
  constructor(private readonly map: Evaluator, private readonly key: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const map = this.map.run(bag, refs, 'EXACT') as StringMap | undefined;
    const key = map === undefined ? undefined : this.key.run(bag, refs, 'EXACT');
    if (map === undefined || typeof key !== 'string') return undefined;
    return hasOwn.call(map, key) ? map[key] : undefined;
  }
}

class Not implements Evaluator {
  constructor(private readonly operand: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const v = this.operand.run(bag, refs, 'EXACT');
    return v === undefined ? undefined : !v;
  }
}

class Negate implements Evaluator {
  constructor(private readonly operand: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const v = this.operand.run(bag, refs, 'EXACT');
    return v === undefined ? undefined : -(v as number);
  }
}

/** a && b: false as soon as one side is false (b is not read when a is); undefined when a side is absent and none is false. */
class And implements Evaluator {
  constructor(private readonly left: Evaluator, private readonly right: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const l = this.left.run(bag, refs, 'EXACT');
    if (l === false) return false;
    const r = this.right.run(bag, refs, 'EXACT');
    if (r === false) return false;
    return l === true && r === true ? true : undefined;
  }
}

class Or implements Evaluator {
  constructor(private readonly left: Evaluator, private readonly right: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const l = this.left.run(bag, refs, 'EXACT');
    if (l === true) return true;
    const r = this.right.run(bag, refs, 'EXACT');
    if (r === true) return true;
    return l === false && r === false ? false : undefined;
  }
}

/** a | b: a when present, else b. */
class Default implements Evaluator {
  constructor(private readonly left: Evaluator, private readonly right: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined, read: ReferenceCondition): Value {
    const l = this.left.run(bag, refs, read);
    return l !== undefined ? l : this.right.run(bag, refs, read);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

class Compare implements Evaluator {
  constructor(private readonly op: string, private readonly operandType: ExprType, private readonly left: Evaluator, private readonly right: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const l = this.left.run(bag, refs, 'EXACT');
    const r = this.right.run(bag, refs, 'EXACT');
    if (l === undefined || r === undefined) return undefined;
    switch (this.op) {
      case '==':
        return this.equal(l, r);
      case '!=':
        return !this.equal(l, r);
      case '<':
        return (l as number) < (r as number);
      case '<=':
        return (l as number) <= (r as number);
      case '>':
        return (l as number) > (r as number);
      default:
        return (l as number) >= (r as number);
    }
  }

  private equal(l: Value, r: Value): boolean {
    if (this.operandType === ValueType.IP_ADDRESS) return ipEquals(l as string, r as string);
    if (this.operandType === ValueType.BYTES) return bytesEqual(l as Uint8Array, r as Uint8Array);
    return l === r;
  }
}

class Add implements Evaluator {
  constructor(private readonly left: Evaluator, private readonly right: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const l = this.left.run(bag, refs, 'EXACT');
    const r = this.right.run(bag, refs, 'EXACT');
    if (l === undefined || r === undefined) return undefined;
    return typeof l === 'string' ? l + (r as string) : (l as number) + (r as number);
  }
}

class InList implements Evaluator {
  constructor(private readonly item: Evaluator, private readonly values: ReadonlySet<unknown>) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const v = this.item.run(bag, refs, 'EXACT');
    return v === undefined ? undefined : this.values.has(v);
  }
}

/** "key" in map: records only whether the key is there. */
class InMapAttribute implements Evaluator {
  constructor(private readonly key: Evaluator, private readonly name: string) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const key = this.key.run(bag, refs, 'EXACT');
    const map = bag.get(this.name) as StringMap | undefined;
    if (map === undefined) {
      refs?.reference(this.name, '', 'ABSENCE');
      return undefined;
    }
    if (typeof key !== 'string') return undefined;
    const present = hasOwn.call(map, key);
    // EXACT, not a separate "presence" condition: the proto has none, and the cache then keys on the value.
    refs?.reference(this.name, key, present ? 'EXACT' : 'ABSENCE');
    return present;
  }
}

class InMap implements Evaluator {
  constructor(private readonly key: Evaluator, private readonly map: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const key = this.key.run(bag, refs, 'EXACT');
    const map = this.map.run(bag, refs, 'EXACT') as StringMap | undefined;
    return key === undefined || map === undefined ? undefined : hasOwn.call(map, key as string);
  }
}

class InCidr implements Evaluator {
  constructor(private readonly address: Evaluator, private readonly range: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const address = this.address.run(bag, refs, 'EXACT');
    const range = this.range.run(bag, refs, 'EXACT');
    return address === undefined || range === undefined ? undefined : (range as CidrRange).contains(address as string);
  }
}

/** A function of string arguments (startsWith, endsWith, contains, match, toLower). */
class StringFunction implements Evaluator {
  constructor(private readonly fn: (a: string, b: string) => Value, private readonly a: Evaluator, private readonly b: Evaluator | null) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const a = this.a.run(bag, refs, 'EXACT');
    if (a === undefined) return undefined;
    const b = this.b === null ? '' : this.b.run(bag, refs, 'EXACT');
    return b === undefined ? undefined : this.fn(a as string, b as string);
  }
}

/** Mixer's match(s, glob): "prefix*" or "*suffix" or an exact string. */
function globMatch(s: string, glob: string): boolean {
  if (glob.endsWith('*')) return s.startsWith(glob.slice(0, -1));
  if (glob.startsWith('*')) return s.endsWith(glob.slice(1));
  return s === glob;
}

/** s.matches(re): an RE2 search (linear in the input), compiled once. Its subject counts as read by REGEX. */
class Matches implements Evaluator {
  constructor(private readonly subject: Evaluator, private readonly regex: SearchRegex) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const s = this.subject.run(bag, refs, 'REGEX');
    return s === undefined ? undefined : this.regex.test(s as string);
  }
}

/** size(): code points of a string (as CEL counts), keys of a map, bytes of BYTES. */
class Size implements Evaluator {
  constructor(private readonly operand: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const v = this.operand.run(bag, refs, 'EXACT');
    if (v === undefined) return undefined;
    if (typeof v === 'string') {
      let n = 0;
      for (let i = 0; i < v.length; i++) {
        const c = v.charCodeAt(i);
        if (c < 0xd800 || c > 0xdbff || i + 1 === v.length) n++;
        else if (v.charCodeAt(i + 1) >= 0xdc00 && v.charCodeAt(i + 1) <= 0xdfff) {
          n++;
          i++;
        } else n++;
      }
      return n;
    }
    if (v instanceof Uint8Array) return v.length;
    return Object.keys(v as StringMap).length;
  }
}

class Conditional implements Evaluator {
  constructor(private readonly condition: Evaluator, private readonly whenTrue: Evaluator, private readonly whenFalse: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined, read: ReferenceCondition): Value {
    const c = this.condition.run(bag, refs, 'EXACT');
    if (c === undefined) return undefined;
    return c === true ? this.whenTrue.run(bag, refs, read) : this.whenFalse.run(bag, refs, read);
  }
}

/** ip(s), timestamp(s), duration(s) of a value known only at run time: undefined when it does not parse. */
class Conversion implements Evaluator {
  constructor(private readonly convert: (s: string) => Value, private readonly operand: Evaluator) {}
  run(bag: AttributeBag, refs: ReferenceSink | undefined): Value {
    const v = this.operand.run(bag, refs, 'EXACT');
    return v === undefined ? undefined : this.convert(v as string);
  }
}

function nullToUndefined<T>(v: T | null): T | undefined {
  return v === null ? undefined : v;
}

/** Takes a checked tree; returns its evaluator. */
export function compileChecked(node: Checked): Evaluator {
  switch (node.k) {
    case 'const':
      if (node.type === 'LIST') return new Constant(new Set((node.value as ListValue).values));
      return new Constant(node.value as Value);
    case 'attr':
      return new AttributeRead(node.name);
    case 'mapget':
      return node.map.k === 'attr' ? new MapAttributeKey(node.map.name, compileChecked(node.key)) : new MapKey(compileChecked(node.map), compileChecked(node.key));
    case 'not':
      return new Not(compileChecked(node.operand));
    case 'neg':
      return new Negate(compileChecked(node.operand));
    case 'and':
      return new And(compileChecked(node.left), compileChecked(node.right));
    case 'or':
      return new Or(compileChecked(node.left), compileChecked(node.right));
    case 'default':
      return new Default(compileChecked(node.left), compileChecked(node.right));
    case 'compare':
      return new Compare(node.op, node.operandType, compileChecked(node.left), compileChecked(node.right));
    case 'add':
      return new Add(compileChecked(node.left), compileChecked(node.right));
    case 'in': {
      const left = compileChecked(node.left);
      if (node.mode === 'list') return new InList(left, new Set((node.right as { value: ListValue }).value.values));
      if (node.mode === 'cidr') return new InCidr(left, compileChecked(node.right));
      return node.right.k === 'attr' ? new InMapAttribute(left, node.right.name) : new InMap(left, compileChecked(node.right));
    }
    case 'call':
      return compileCall(node);
  }
}

function compileCall(node: Extract<Checked, { k: 'call' }>): Evaluator {
  const args = node.args.map(compileChecked);
  switch (node.fn) {
    case 'startsWith':
      return new StringFunction((s, x) => s.startsWith(x), args[0], args[1]);
    case 'endsWith':
      return new StringFunction((s, x) => s.endsWith(x), args[0], args[1]);
    case 'contains':
      return new StringFunction((s, x) => s.includes(x), args[0], args[1]);
    case 'glob':
      return new StringFunction(globMatch, args[0], args[1]);
    case 'toLower':
      return new StringFunction((s) => s.toLowerCase(), args[0], null);
    case 'cidrContains':
      return new InCidr(args[1], args[0]);
    case 'matches':
      return new Matches(args[0], compileSearch((node.args[1] as { value: string }).value));
    case 'size':
      return new Size(args[0]);
    case 'conditional':
      return new Conditional(args[0], args[1], args[2]);
    case 'ip':
      return new Conversion((s) => (parseIpAddress(s) === null ? undefined : s), args[0]);
    case 'timestamp':
      return new Conversion((s) => nullToUndefined(parseTimestamp(s)), args[0]);
    case 'duration':
      return new Conversion((s) => nullToUndefined(parseDuration(s)), args[0]);
    case 'emptyStringMap':
      return new Constant(Object.freeze(Object.create(null)) as StringMap);
  }
}
