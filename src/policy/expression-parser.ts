// Parses policy expression text into a syntax tree. Precedence (Go's, which
// Mixer's CEXL follows), loosest first:
//   ||    &&    == != < <= > >= in    + |    ! - (unary)    x[k] x.f() x.name
// A dotted name is one attribute (`destination.service.host`); a dotted name
// followed by `(` is a method call on the name before its last part
// (`request.path.startsWith("/api")`). Nesting depth and node count are
// bounded so hostile config cannot exhaust the stack.
import type { BinaryOp, ExprNode } from './expression-ast.js';
import { ExpressionError, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH, MAX_EXPRESSION_NODES } from './expression-error.js';
import { tokenize, type Token } from './expression-lexer.js';

const COMPARISON_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);

class Parser {
  private index = 0;
  private depth = 0;
  private nodes = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parseAll(): ExprNode {
    if (this.peek().kind === 'eof') throw new ExpressionError(0, 'empty expression');
    const node = this.parseOr();
    const next = this.peek();
    if (next.kind !== 'eof') throw new ExpressionError(next.pos, `unexpected ${describe(next)} after a complete expression`);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private next(): Token {
    return this.tokens[this.index++];
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.kind === 'op' && t.text === text;
  }

  private expectOp(text: string, what: string): Token {
    const t = this.peek();
    if (t.kind !== 'op' || t.text !== text) throw new ExpressionError(t.pos, `expected '${text}' ${what}, found ${describe(t)}`);
    return this.next();
  }

  private count<T extends ExprNode>(node: T): T {
    if (++this.nodes > MAX_EXPRESSION_NODES) {
      throw new ExpressionError(node.pos, `the expression has more than ${MAX_EXPRESSION_NODES} parts; split the rule`);
    }
    return node;
  }

  private enter(pos: number): void {
    if (++this.depth > MAX_EXPRESSION_DEPTH) throw new ExpressionError(pos, `the expression nests more than ${MAX_EXPRESSION_DEPTH} levels deep`);
  }

  private binary(op: BinaryOp, opPos: number, left: ExprNode, right: ExprNode): ExprNode {
    return this.count({ kind: 'binary', pos: left.pos, opPos, op, left, right });
  }

  private parseOr(): ExprNode {
    let left = this.parseAnd();
    while (this.isOp('||')) {
      const op = this.next();
      left = this.binary('||', op.pos, left, this.parseAnd());
    }
    return left;
  }

  private parseAnd(): ExprNode {
    let left = this.parseComparison();
    while (this.isOp('&&')) {
      const op = this.next();
      left = this.binary('&&', op.pos, left, this.parseComparison());
    }
    return left;
  }

  private parseComparison(): ExprNode {
    let left = this.parseAdditive();
    for (;;) {
      const t = this.peek();
      const isIn = t.kind === 'ident' && t.text === 'in';
      if (!isIn && !(t.kind === 'op' && COMPARISON_OPS.has(t.text))) return left;
      this.next();
      left = this.binary(t.text as BinaryOp, t.pos, left, this.parseAdditive());
    }
  }

  private parseAdditive(): ExprNode {
    let left = this.parseUnary();
    while (this.isOp('+') || this.isOp('|')) {
      const op = this.next();
      left = this.binary(op.text as BinaryOp, op.pos, left, this.parseUnary());
    }
    return left;
  }

  private parseUnary(): ExprNode {
    if (this.isOp('!') || this.isOp('-')) {
      const op = this.next();
      this.enter(op.pos);
      const operand = this.parseUnary();
      this.depth--;
      return this.count({ kind: 'unary', pos: op.pos, op: op.text as '!' | '-', operand });
    }
    return this.parsePostfix();
  }

  private parsePostfix(): ExprNode {
    let node = this.parsePrimary();
    for (;;) {
      if (this.isOp('[')) {
        const open = this.next();
        this.enter(open.pos);
        const key = this.parseOr();
        this.depth--;
        this.expectOp(']', 'to close the index');
        node = this.count({ kind: 'index', pos: node.pos, target: node, key });
      } else if (this.isOp('.')) {
        this.next();
        const name = this.peek();
        if (name.kind !== 'ident') throw new ExpressionError(name.pos, `expected a name after '.', found ${describe(name)}`);
        this.next();
        if (this.isOp('(')) {
          node = this.count({ kind: 'call', pos: node.pos, name: name.text, args: [node, ...this.parseArgs()], method: true });
        } else if (node.kind === 'attribute') {
          node = { kind: 'attribute', pos: node.pos, name: `${node.name}.${name.text}` };
        } else {
          throw new ExpressionError(name.pos, `'.${name.text}' must be a method call ('.${name.text}(...)'): only attribute names have dotted parts`);
        }
      } else {
        return node;
      }
    }
  }

  /** Reads `( a, b, ... )` after a function or method name. */
  private parseArgs(): ExprNode[] {
    const open = this.expectOp('(', 'to start the arguments');
    this.enter(open.pos);
    const args: ExprNode[] = [];
    if (!this.isOp(')')) {
      for (;;) {
        args.push(this.parseOr());
        if (!this.isOp(',')) break;
        this.next();
      }
    }
    this.expectOp(')', 'to close the arguments');
    this.depth--;
    return args;
  }

  private parsePrimary(): ExprNode {
    const t = this.peek();
    switch (t.kind) {
      case 'int':
        this.next();
        return this.count({ kind: 'literal', pos: t.pos, value: t.value as number, literalType: 'INT64' });
      case 'double':
        this.next();
        return this.count({ kind: 'literal', pos: t.pos, value: t.value as number, literalType: 'DOUBLE' });
      case 'string':
        this.next();
        return this.count({ kind: 'literal', pos: t.pos, value: t.value as string, literalType: 'STRING' });
      case 'ident':
        this.next();
        if (t.text === 'true' || t.text === 'false') return this.count({ kind: 'literal', pos: t.pos, value: t.text === 'true', literalType: 'BOOL' });
        if (this.isOp('(')) return this.count({ kind: 'call', pos: t.pos, name: t.text, args: this.parseArgs(), method: false });
        return this.count({ kind: 'attribute', pos: t.pos, name: t.text });
      case 'op':
        if (t.text === '(') {
          this.next();
          this.enter(t.pos);
          const inner = this.parseOr();
          this.depth--;
          this.expectOp(')', `to close the '(' at column ${t.pos + 1}`);
          return inner;
        }
        if (t.text === '[') return this.parseList();
        throw new ExpressionError(t.pos, `expected a value, found ${describe(t)}`);
      case 'eof':
        throw new ExpressionError(t.pos, 'the expression ends where a value was expected');
    }
  }

  private parseList(): ExprNode {
    const open = this.next();
    this.enter(open.pos);
    const items: ExprNode[] = [];
    if (!this.isOp(']')) {
      for (;;) {
        items.push(this.parseOr());
        if (!this.isOp(',')) break;
        this.next();
      }
    }
    this.expectOp(']', 'to close the list');
    this.depth--;
    return this.count({ kind: 'list', pos: open.pos, items });
  }
}

function describe(t: Token): string {
  if (t.kind === 'eof') return 'the end of the expression';
  if (t.kind === 'string') return `the string ${t.text.length > 40 ? `${t.text.slice(0, 40)}...` : t.text}`;
  return `'${t.text}'`;
}

/** Takes expression text; returns its syntax tree. Throws ExpressionError (position and reason). */
export function parseExpression(text: string): ExprNode {
  if (text.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError(MAX_EXPRESSION_LENGTH, `the expression is ${text.length} characters long, over the limit of ${MAX_EXPRESSION_LENGTH}`);
  }
  return new Parser(tokenize(text)).parseAll();
}
