// The one error the expression language throws: where (0-based offset into
// the text) and what is wrong there, so a config error can point at the
// column of a rule's match expression.

export class ExpressionError extends Error {
  /** What is wrong, without the column prefix. */
  readonly reason: string;

  constructor(readonly position: number, reason: string) {
    super(`column ${position + 1}: ${reason}`);
    this.name = 'ExpressionError';
    this.reason = reason;
  }
}

/** The longest expression text accepted (hostile or generated config). */
export const MAX_EXPRESSION_LENGTH = 8192;
/** How deeply parentheses, calls, indexes and unary operators may nest. */
export const MAX_EXPRESSION_DEPTH = 48;
/** The most syntax nodes one expression may have. */
export const MAX_EXPRESSION_NODES = 1024;
