// A config field that holds a policy expression (a rule's match, an
// instance's params): compiled once here against the attribute vocabulary so
// a mistake is reported at the edge with its file, line, field and column,
// and the resource is refused before it can replace working rules.
import { isScalar, Scalar } from 'yaml';
import type { ValueReader } from '../../src/config/yaml-reader.js';
import type { ValueType } from '../../src/policy/attribute-value.js';
import { compileExpression, ExpressionError, type CompiledExpression } from '../../src/policy/expression.js';

/** The line of `position` in a scalar's text: a `|` block keeps its lines, so an error inside one points at its own line. */
function lineAt(v: ValueReader, position: number, text: string): number | null {
  const node = v.node;
  if (node === null || node.range == null) return null;
  const first = v.ctx.problems.lineOf(node.range[0]);
  if (!isScalar(node) || node.type !== Scalar.BLOCK_LITERAL) return first;
  let newlines = 0;
  for (let i = 0; i < position && i < text.length; i++) if (text.charCodeAt(i) === 10) newlines++;
  return first + 1 + newlines;
}

/** Records a problem at the field with its own line (for a block scalar, the expression's line). */
function problemAt(v: ValueReader, line: number | null, message: string): void {
  const index = v.ctx.problems.add(v.node, v.path, message);
  const p = v.ctx.problems.problems[index];
  if (p !== undefined && line !== null && p.line !== line) v.ctx.problems.problems[index] = { ...p, line };
}

/** The expression text of a field: a string, or a YAML number or boolean written without quotes (`value: 1`). */
function expressionText(v: ValueReader): string | undefined {
  const node = v.node;
  if (node !== null && isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean')) return String(node.value);
  return v.string();
}

/**
 * Takes a field holding an expression and the types it may have (null: any); returns the expression compiled, or
 * undefined after recording the problem (`spec.match at column 13: unknown attribute 'request.pth'`).
 */
export function readExpressionField(v: ValueReader, allowed: readonly ValueType[] | null, what: string): CompiledExpression | undefined {
  const text = expressionText(v);
  if (text === undefined) return undefined;
  let compiled: CompiledExpression;
  try {
    compiled = compileExpression(text);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    problemAt(v, lineAt(v, err.position, text), `at column ${err.position + 1}: ${err.reason}`);
    return undefined;
  }
  if (allowed !== null && !allowed.includes(compiled.type)) {
    v.problem(`is ${compiled.type}; ${what} must be ${allowed.join(' or ')} (the expression: ${text.length > 60 ? `${text.slice(0, 60)}...` : text})`);
    return undefined;
  }
  return compiled;
}
