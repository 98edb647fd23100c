// Type-checks a policy expression's syntax tree against the attribute
// vocabulary and resolves every operator and function to one meaning, so the
// compiler never guesses at run time. A mistake (an unknown attribute, a
// string compared with an int, a regex RE2 refuses) is an ExpressionError at
// the offending node's column.
import { ValueType } from './attribute-value.js';
import type { BinaryOp, ExprNode } from './expression-ast.js';
import { ExpressionError } from './expression-error.js';
import { CidrRange, parseIpAddress } from './ip-address.js';
import { parseDuration, parseTimestamp } from './time-literals.js';
import { closestName } from '../did-you-mean.js';
import { checkRe2, ISTIO_MAX_PROGRAM_SIZE } from '../config/re2-regex.js';

/** A value type, or a type only expressions hold: a CIDR range (ip("10.0.0.0/8")) or a literal list ([...] after `in`). */
export type ExprType = ValueType | 'CIDR' | 'LIST';

export type FunctionId =
  | 'startsWith' | 'endsWith' | 'contains' | 'cidrContains' | 'matches' | 'glob' | 'size' | 'conditional'
  | 'ip' | 'timestamp' | 'duration' | 'toLower' | 'emptyStringMap';

/** A literal list's value: its items' type (null when empty) and the items. */
export interface ListValue {
  readonly itemType: ExprType | null;
  readonly values: readonly unknown[];
}

/** The checked tree: each node knows its type and exactly what it does. */
export type Checked =
  | { readonly k: 'const'; readonly type: ExprType; readonly value: unknown }
  | { readonly k: 'attr'; readonly type: ValueType; readonly name: string }
  /** map[key]; when `map` is an attribute, only the key read is recorded. */
  | { readonly k: 'mapget'; readonly type: ValueType; readonly map: Checked; readonly key: Checked }
  | { readonly k: 'not'; readonly type: ValueType; readonly operand: Checked }
  | { readonly k: 'neg'; readonly type: ValueType; readonly operand: Checked }
  | { readonly k: 'and' | 'or'; readonly type: ValueType; readonly left: Checked; readonly right: Checked }
  /** left | right: left when present, else right (Mixer's "first non-empty"). */
  | { readonly k: 'default'; readonly type: ExprType; readonly left: Checked; readonly right: Checked }
  | { readonly k: 'compare'; readonly type: ValueType; readonly op: BinaryOp; readonly operandType: ExprType; readonly left: Checked; readonly right: Checked }
  | { readonly k: 'add'; readonly type: ValueType; readonly left: Checked; readonly right: Checked }
  | { readonly k: 'in'; readonly type: ValueType; readonly mode: 'list' | 'mapKey' | 'cidr'; readonly left: Checked; readonly right: Checked }
  | { readonly k: 'call'; readonly type: ExprType; readonly fn: FunctionId; readonly args: readonly Checked[] };

const { STRING, INT64, DOUBLE, BOOL, TIMESTAMP, DURATION, IP_ADDRESS, BYTES, STRING_MAP } = ValueType;

const FUNCTION_NAMES = ['startsWith', 'endsWith', 'contains', 'matches', 'match', 'size', 'conditional', 'ip', 'timestamp', 'duration', 'toLower', 'emptyStringMap'];

const ADDABLE: readonly ExprType[] = [STRING, INT64, DOUBLE, DURATION];
const ORDERED: readonly ExprType[] = [STRING, INT64, DOUBLE, TIMESTAMP, DURATION];
const SIZED: readonly ExprType[] = [STRING, STRING_MAP, BYTES];
const HEADER_MAPS = new Set(['request.headers', 'response.headers']);

function isNumeric(t: ExprType): boolean {
  return t === INT64 || t === DOUBLE;
}

function sameOrNumeric(a: ExprType, b: ExprType): boolean {
  return a === b || (isNumeric(a) && isNumeric(b));
}

class Checker {
  constructor(private readonly vocabulary: ReadonlyMap<string, ValueType>) {}

  check(node: ExprNode): Checked {
    switch (node.kind) {
      case 'literal':
        return { k: 'const', type: node.literalType, value: node.value };
      case 'attribute': {
        const type = this.vocabulary.get(node.name);
        if (type === undefined) {
          const near = closestName(node.name, this.vocabulary.keys());
          const hint = near === undefined ? '' : ` (did you mean '${near}'?)`;
          const fn = FUNCTION_NAMES.includes(node.name) ? ` ('${node.name}' is a function: call it with '(...)')` : '';
          throw new ExpressionError(node.pos, `unknown attribute '${node.name}'${hint}${fn}`);
        }
        return { k: 'attr', type, name: node.name };
      }
      case 'list': {
        const items = node.items.map((item) => this.constant(item, 'a list item'));
        const first = items[0]?.type;
        node.items.forEach((item, i) => {
          if (items[i].type !== first) throw new ExpressionError(item.pos, `list items must all have one type: this is ${items[i].type}, the first is ${first}`);
        });
        const list: ListValue = { itemType: first ?? null, values: items.map((c) => (c as { value: unknown }).value) };
        return { k: 'const', type: 'LIST', value: list };
      }
      case 'index':
        return this.checkIndex(node);
      case 'unary': {
        const operand = this.check(node.operand);
        if (node.op === '!') {
          this.expect(node.operand, operand, BOOL, "'!'");
          return { k: 'not', type: BOOL, operand };
        }
        if (!isNumeric(operand.type) && operand.type !== DURATION) {
          throw new ExpressionError(node.pos, `unary '-' needs a number or a duration, not ${operand.type}`);
        }
        if (operand.k === 'const') return { k: 'const', type: operand.type, value: -(operand.value as number) };
        return { k: 'neg', type: operand.type as ValueType, operand };
      }
      case 'binary':
        return this.checkBinary(node);
      case 'call':
        return this.checkCall(node);
    }
  }

  private expect(node: ExprNode, checked: Checked, type: ExprType, what: string): void {
    if (checked.type !== type) throw new ExpressionError(node.pos, `${what} needs ${type} here, not ${checked.type}`);
  }

  private constant(node: ExprNode, what: string): Checked {
    const checked = this.check(node);
    if (checked.k !== 'const') throw new ExpressionError(node.pos, `${what} must be a literal value`);
    return checked;
  }

  private checkIndex(node: Extract<ExprNode, { kind: 'index' }>): Checked {
    const map = this.check(node.target);
    if (map.type !== STRING_MAP) throw new ExpressionError(node.pos, `only a map can be indexed with [...]; this is ${map.type}`);
    const key = this.check(node.key);
    this.expect(node.key, key, STRING, 'a map key');
    // Header maps hold lowercase names (HTTP/2's form): request.headers["X-User"] means x-user.
    if (map.k === 'attr' && HEADER_MAPS.has(map.name) && key.k === 'const') {
      return { k: 'mapget', type: STRING, map, key: { ...key, value: (key.value as string).toLowerCase() } };
    }
    return { k: 'mapget', type: STRING, map, key };
  }

  private checkBinary(node: Extract<ExprNode, { kind: 'binary' }>): Checked {
    const left = this.check(node.left);
    const right = this.check(node.right);
    const mismatch = (verb: string): ExpressionError =>
      new ExpressionError(node.opPos, `cannot ${verb} ${left.type} and ${right.type} with '${node.op}'${hintFor(left.type, right.type)}`);
    switch (node.op) {
      case '&&':
      case '||':
        this.expect(node.left, left, BOOL, `'${node.op}'`);
        this.expect(node.right, right, BOOL, `'${node.op}'`);
        return { k: node.op === '&&' ? 'and' : 'or', type: BOOL, left, right };
      case '|':
        if (!sameOrNumeric(left.type, right.type)) throw mismatch('default between');
        return { k: 'default', type: left.type === right.type ? left.type : DOUBLE, left, right };
      case '+':
        if (left.type === TIMESTAMP && right.type === DURATION) return { k: 'add', type: TIMESTAMP, left, right };
        if (!sameOrNumeric(left.type, right.type) || !(ADDABLE as ExprType[]).includes(left.type)) throw mismatch('add');
        return { k: 'add', type: left.type === right.type ? (left.type as ValueType) : DOUBLE, left, right };
      case '==':
      case '!=':
        if (!sameOrNumeric(left.type, right.type) || left.type === STRING_MAP || left.type === 'CIDR' || left.type === 'LIST') throw mismatch('compare');
        return { k: 'compare', type: BOOL, op: node.op, operandType: left.type, left, right };
      case '<':
      case '<=':
      case '>':
      case '>=':
        if (!sameOrNumeric(left.type, right.type) || !(ORDERED as ExprType[]).includes(left.type)) throw mismatch('order');
        return { k: 'compare', type: BOOL, op: node.op, operandType: left.type, left, right };
      case 'in':
        if (right.type === 'LIST') {
          const itemType = ((right as { value: ListValue }).value).itemType ?? left.type;
          if (!sameOrNumeric(left.type, itemType)) throw new ExpressionError(node.opPos, `cannot look for ${left.type} in a list of ${itemType}`);
          return { k: 'in', type: BOOL, mode: 'list', left, right };
        }
        if (right.type === STRING_MAP && left.type === STRING) return { k: 'in', type: BOOL, mode: 'mapKey', left, right };
        if (right.type === 'CIDR' && left.type === IP_ADDRESS) return { k: 'in', type: BOOL, mode: 'cidr', left, right };
        throw mismatch('test membership of');
    }
  }

  private checkCall(node: Extract<ExprNode, { kind: 'call' }>): Checked {
    const args = node.args.map((a) => this.check(a));
    const types = args.map((a) => a.type);
    const arity = (n: number, form: string): void => {
      if (args.length !== n) throw new ExpressionError(node.pos, `${node.name} takes ${n} argument${n === 1 ? '' : 's'}: ${form}`);
    };
    const argTypes = (expected: readonly ExprType[], form: string): void => {
      expected.forEach((t, i) => {
        if (types[i] !== t) throw new ExpressionError(node.args[i].pos, `${node.name} needs ${t} ${i === 0 && node.method ? 'before the dot' : `as argument ${i + 1 - (node.method ? 1 : 0)}`}, not ${types[i]} (${form})`);
      });
    };
    const call = (fn: FunctionId, type: ExprType, list: readonly Checked[] = args): Checked => ({ k: 'call', type, fn, args: list });
    switch (node.name) {
      case 'startsWith':
      case 'endsWith': {
        const form = `s.${node.name}(x) or ${node.name}(s, x)`;
        arity(2, form);
        argTypes([STRING, STRING], form);
        return call(node.name, BOOL);
      }
      case 'contains': {
        arity(2, 's.contains(x), or ip("10.0.0.0/8").contains(source.ip)');
        if (types[0] === 'CIDR') {
          argTypes(['CIDR', IP_ADDRESS], 'ip("10.0.0.0/8").contains(source.ip)');
          return call('cidrContains', BOOL);
        }
        argTypes([STRING, STRING], 's.contains(x) or contains(s, x)');
        return call('contains', BOOL);
      }
      case 'matches':
        return this.checkMatches(node, args);
      case 'match': {
        const form = 'match(s, "*.suffix") or match(s, "prefix*")';
        arity(2, form);
        argTypes([STRING, STRING], form);
        return call('glob', BOOL);
      }
      case 'size': {
        arity(1, 'size(x) or x.size()');
        if (!(SIZED as ExprType[]).includes(types[0])) {
          throw new ExpressionError(node.args[0].pos, `size needs a STRING, STRING_MAP or BYTES, not ${types[0]}`);
        }
        return call('size', INT64);
      }
      case 'conditional': {
        arity(3, 'conditional(condition, whenTrue, whenFalse)');
        this.expect(node.args[0], args[0], BOOL, 'the condition of conditional');
        if (!sameOrNumeric(types[1], types[2])) {
          throw new ExpressionError(node.args[2].pos, `both branches of conditional must have one type: ${types[1]} and ${types[2]}`);
        }
        return call('conditional', types[1] === types[2] ? types[1] : DOUBLE);
      }
      case 'toLower':
        arity(1, 's.toLower() or toLower(s)');
        argTypes([STRING], 'toLower(s)');
        return call('toLower', STRING);
      case 'emptyStringMap':
        arity(0, 'emptyStringMap()');
        return { k: 'const', type: STRING_MAP, value: Object.freeze(Object.create(null)) };
      case 'ip':
      case 'timestamp':
      case 'duration':
        return this.checkConversion(node, args);
      default: {
        const near = closestName(node.name, FUNCTION_NAMES);
        throw new ExpressionError(node.pos, `unknown function '${node.name}'${near === undefined ? '' : ` (did you mean '${near}'?)`}`);
      }
    }
  }

  /** ip(), timestamp(), duration(): a literal argument is converted (and validated) now. */
  private checkConversion(node: Extract<ExprNode, { kind: 'call' }>, args: readonly Checked[]): Checked {
    const name = node.name as 'ip' | 'timestamp' | 'duration';
    const example = { ip: 'ip("10.1.2.3") or ip("10.0.0.0/8")', timestamp: 'timestamp("2015-01-02T15:04:35Z")', duration: 'duration("1.5s")' }[name];
    if (args.length !== 1 || node.method) throw new ExpressionError(node.pos, `${name} takes one string: ${example}`);
    if (args[0].type !== STRING) throw new ExpressionError(node.args[0].pos, `${name} needs a STRING, not ${args[0].type} (${example})`);
    const type = { ip: IP_ADDRESS, timestamp: TIMESTAMP, duration: DURATION }[name];
    if (args[0].k !== 'const') return { k: 'call', type, fn: name, args };
    const text = args[0].value as string;
    const at = node.args[0].pos;
    if (name === 'ip') {
      if (text.includes('/')) {
        const range = CidrRange.parse(text);
        if (typeof range === 'string') throw new ExpressionError(at, `ip("${text}"): ${range}`);
        return { k: 'const', type: 'CIDR', value: range };
      }
      if (parseIpAddress(text) === null) throw new ExpressionError(at, `ip("${text}"): not an IPv4 or IPv6 address`);
      return { k: 'const', type: IP_ADDRESS, value: text };
    }
    const value = name === 'timestamp' ? parseTimestamp(text) : parseDuration(text);
    if (value === null) {
      const want = name === 'timestamp' ? 'an RFC 3339 timestamp like 2015-01-02T15:04:35Z' : 'a duration like 300ms, 1.5s, 1h30m';
      throw new ExpressionError(at, `${name}("${text}"): not ${want}`);
    }
    return { k: 'const', type, value };
  }

  /**
   * matches: CEL writes `s.matches(re)` and `matches(s, re)`; Mixer wrote `"re".matches(s)`. The regex must be a
   * string literal (compiled once, checked by RE2): a literal receiver with a non-literal argument is Mixer's form.
   */
  private checkMatches(node: Extract<ExprNode, { kind: 'call' }>, args: readonly Checked[]): Checked {
    const form = 's.matches("regex"), matches(s, "regex") or Mixer\'s "regex".matches(s)';
    if (args.length !== 2) throw new ExpressionError(node.pos, `matches takes a string and a regex: ${form}`);
    args.forEach((a, i) => {
      if (a.type !== STRING) throw new ExpressionError(node.args[i].pos, `matches needs STRING values, not ${a.type} (${form})`);
    });
    const mixerForm = node.method && args[0].k === 'const' && args[1].k !== 'const';
    const [subject, pattern] = mixerForm ? [args[1], args[0]] : [args[0], args[1]];
    const patternNode = mixerForm ? node.args[0] : node.args[1];
    if (pattern.k !== 'const') throw new ExpressionError(patternNode.pos, `the regex of matches must be a string literal (${form})`);
    const problem = checkRe2(pattern.value as string, ISTIO_MAX_PROGRAM_SIZE);
    if (problem !== null) throw new ExpressionError(patternNode.pos, `the regex ${problem}`);
    return { k: 'call', type: BOOL, fn: 'matches', args: [subject, pattern] };
  }
}

function hintFor(a: ExprType, b: ExprType): string {
  if ((a === IP_ADDRESS && b === STRING) || (a === STRING && b === IP_ADDRESS)) return '; write the address as ip("10.1.2.3")';
  if ((a === IP_ADDRESS && b === 'CIDR') || (a === 'CIDR' && b === IP_ADDRESS)) return '; test a range with `source.ip in ip("10.0.0.0/8")` or ip("10.0.0.0/8").contains(source.ip)';
  if ((a === DURATION || a === TIMESTAMP) && b === STRING) return `; write it as ${a === DURATION ? 'duration("1s")' : 'timestamp("2015-01-02T15:04:35Z")'}`;
  return '';
}

/** Takes a syntax tree and the vocabulary; returns the checked tree. Throws ExpressionError. */
export function checkExpression(node: ExprNode, vocabulary: ReadonlyMap<string, ValueType>): Checked {
  return new Checker(vocabulary).check(node);
}
