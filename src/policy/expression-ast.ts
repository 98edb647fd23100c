// The syntax tree of a policy expression, as the parser builds it. `pos` is
// the 0-based offset of the node's first character (of the operator for a
// binary node's `opPos`), for errors that name a column.

export type BinaryOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||' | '|' | '+' | 'in';

export type ExprNode =
  | { readonly kind: 'literal'; readonly pos: number; readonly value: string | number | boolean; readonly literalType: 'STRING' | 'INT64' | 'DOUBLE' | 'BOOL' }
  /** A dotted name (`request.headers`), resolved against the vocabulary by the checker. */
  | { readonly kind: 'attribute'; readonly pos: number; readonly name: string }
  /** `[a, b]`: only as the right side of `in`. */
  | { readonly kind: 'list'; readonly pos: number; readonly items: readonly ExprNode[] }
  | { readonly kind: 'index'; readonly pos: number; readonly target: ExprNode; readonly key: ExprNode }
  /** f(args) (`method` false), or target.f(args) (`method` true, the target is args[0]). */
  | { readonly kind: 'call'; readonly pos: number; readonly name: string; readonly args: readonly ExprNode[]; readonly method: boolean }
  | { readonly kind: 'unary'; readonly pos: number; readonly op: '!' | '-'; readonly operand: ExprNode }
  | { readonly kind: 'binary'; readonly pos: number; readonly opPos: number; readonly op: BinaryOp; readonly left: ExprNode; readonly right: ExprNode };
