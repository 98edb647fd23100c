// The policy expression language's entry point: text -> tokens -> syntax
// tree -> checked against the attribute vocabulary -> a compiled evaluator.
// Done once per config; evaluate() runs per request (proxy) or per Check
// (control plane). See docs/policy-expressions.md for the language.
import type { AttributeBag, AttributeValue, ValueType } from './attribute-value.js';
import { ATTRIBUTE_VOCABULARY } from './attribute-vocabulary.js';
import { checkExpression, type Checked } from './expression-checker.js';
import { compileChecked, type Evaluator, type ReferenceSink } from './expression-compiler.js';
import { ExpressionError } from './expression-error.js';
import { parseExpression } from './expression-parser.js';

export { ExpressionError, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH, MAX_EXPRESSION_NODES } from './expression-error.js';
export type { ReferenceCondition, ReferenceSink } from './expression-compiler.js';

export interface CompiledExpression {
  readonly text: string;
  /** The type of the value evaluate() returns. */
  readonly type: ValueType;
  /** Every attribute name the expression may read (sorted): what a proxy must be able to compute for it. */
  readonly attributes: readonly string[];
  /**
   * Takes the attributes; returns the value, or undefined when an attribute it needed is absent (with no `|` default)
   * or a run-time conversion failed (a rule treats undefined as no match). Reports each read to refs.
   */
  evaluate(bag: AttributeBag, refs?: ReferenceSink): AttributeValue | undefined;
}

class Compiled implements CompiledExpression {
  constructor(readonly text: string, readonly type: ValueType, readonly attributes: readonly string[], private readonly root: Evaluator) {}

  evaluate(bag: AttributeBag, refs?: ReferenceSink): AttributeValue | undefined {
    return this.root.run(bag, refs, 'EXACT') as AttributeValue | undefined;
  }
}

function collectAttributes(node: Checked, into: Set<string>): void {
  switch (node.k) {
    case 'const':
      return;
    case 'attr':
      into.add(node.name);
      return;
    case 'mapget':
      collectAttributes(node.map, into);
      collectAttributes(node.key, into);
      return;
    case 'not':
    case 'neg':
      collectAttributes(node.operand, into);
      return;
    case 'call':
      for (const arg of node.args) collectAttributes(arg, into);
      return;
    default:
      collectAttributes(node.left, into);
      collectAttributes(node.right, into);
  }
}

/**
 * Takes expression text and the attribute vocabulary (Istio's by default); returns it compiled.
 * Throws ExpressionError (.position: 0-based offset; .message: 'column N: what is wrong').
 */
export function compileExpression(text: string, vocabulary: ReadonlyMap<string, ValueType> = ATTRIBUTE_VOCABULARY): CompiledExpression {
  if (typeof text !== 'string') throw new ExpressionError(0, `an expression must be a string, not ${text === null ? 'null' : typeof text}`);
  const checked = checkExpression(parseExpression(text), vocabulary);
  if (checked.type === 'CIDR' || checked.type === 'LIST') {
    const what = checked.type === 'CIDR' ? 'a CIDR range' : 'a list';
    throw new ExpressionError(0, `the expression is ${what}, which only the right side of 'in' (or .contains) can use`);
  }
  const attributes = new Set<string>();
  collectAttributes(checked, attributes);
  return new Compiled(text, checked.type, [...attributes].sort(), compileChecked(checked));
}

/** compileExpression, then requires the result type (e.g. BOOL for a rule's match). */
export function compileExpressionOfType(text: string, type: ValueType, vocabulary?: ReadonlyMap<string, ValueType>): CompiledExpression {
  const compiled = compileExpression(text, vocabulary);
  if (compiled.type !== type) {
    const start = text.length - text.trimStart().length;
    throw new ExpressionError(start, `the expression is ${compiled.type}, but ${type} is needed here`);
  }
  return compiled;
}
