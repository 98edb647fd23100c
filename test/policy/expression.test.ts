// The policy expression language: Mixer's CEXL plus CEL's operators, checked
// against Istio's vocabulary, with errors that name the column, and the
// referenced attributes a Check answer carries to the proxy's cache.
import { describe, expect, it } from 'vitest';
import type { AttributeBag, AttributeValue } from '../../src/policy/attribute-value.js';
import { ATTRIBUTE_VOCABULARY } from '../../src/policy/attribute-vocabulary.js';
import {
  compileExpression,
  compileExpressionOfType,
  ExpressionError,
  MAX_EXPRESSION_DEPTH,
  MAX_EXPRESSION_LENGTH,
  type ReferenceCondition,
  type ReferenceSink,
} from '../../src/policy/expression.js';

function map(entries: Record<string, string>): Readonly<Record<string, string>> {
  return Object.assign(Object.create(null) as Record<string, string>, entries);
}

function bag(values: Record<string, AttributeValue>): AttributeBag {
  return { get: (name) => (Object.hasOwn(values, name) ? values[name] : undefined) };
}

class Refs implements ReferenceSink {
  readonly seen: string[] = [];
  reference(name: string, mapKey: string, condition: ReferenceCondition): void {
    this.seen.push(mapKey === '' ? `${name} ${condition}` : `${name}[${mapKey}] ${condition}`);
  }
}

const request = bag({
  'request.path': '/api/v1/users',
  'request.method': 'GET',
  'request.headers': map({ 'x-user': 'alice', 'user-agent': 'curl/8' }),
  'request.size': 120,
  'request.time': Date.parse('2026-01-02T03:04:05Z'),
  'response.code': 503,
  'response.duration': 1500,
  'source.ip': '::ffff:10.1.2.3',
  'source.labels': map({ app: 'web' }),
  'source.namespace': 'default',
  'connection.mtls': true,
});

function evaluate(text: string, attributes: AttributeBag = request): AttributeValue | undefined {
  return compileExpression(text).evaluate(attributes);
}

function errorOf(text: string): ExpressionError {
  try {
    compileExpression(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ExpressionError);
    return err as ExpressionError;
  }
  throw new Error(`expected '${text}' to be refused`);
}

describe('the vocabulary', () => {
  it("holds every attribute the issue lists, each with Istio's type", () => {
    expect(ATTRIBUTE_VOCABULARY.get('source.ip')).toBe('IP_ADDRESS');
    expect(ATTRIBUTE_VOCABULARY.get('source.labels')).toBe('STRING_MAP');
    expect(ATTRIBUTE_VOCABULARY.get('destination.port')).toBe('INT64');
    expect(ATTRIBUTE_VOCABULARY.get('request.time')).toBe('TIMESTAMP');
    expect(ATTRIBUTE_VOCABULARY.get('response.duration')).toBe('DURATION');
    expect(ATTRIBUTE_VOCABULARY.get('connection.mtls')).toBe('BOOL');
    for (const name of ['source.principal', 'source.namespace', 'source.workload.name', 'destination.service.host', 'destination.service.name',
      'destination.labels', 'request.path', 'request.host', 'request.method', 'request.scheme', 'request.headers', 'request.useragent',
      'request.size', 'response.code', 'response.size', 'context.protocol', 'context.reporter.kind']) {
      expect(ATTRIBUTE_VOCABULARY.has(name), name).toBe(true);
    }
  });
});

describe('compileExpression', () => {
  it('evaluates equality, logic and map indexing', () => {
    expect(evaluate('request.method == "GET" && request.headers["x-user"] == "alice"')).toBe(true);
    expect(evaluate("request.method != 'GET' || !connection.mtls")).toBe(false);
    expect(evaluate('request.headers["X-User"]')).toBe('alice');
    expect(evaluate('(request.size == 120) && (response.code >= 500)')).toBe(true);
    expect(compileExpression('request.size + 1').type).toBe('INT64');
    expect(evaluate('request.size + 1')).toBe(121);
    expect(evaluate('request.path + "?x"')).toBe('/api/v1/users?x');
    expect(evaluate('1.5 < request.size')).toBe(true);
    expect(evaluate('-1 < 0 && true != false')).toBe(true);
  });

  it("gives the default of '|' only when the left side is absent", () => {
    expect(evaluate('source.labels["app"] | "unknown"')).toBe('web');
    expect(evaluate('source.labels["svc"] | source.labels["app"] | "unknown"')).toBe('web');
    expect(evaluate('destination.labels["app"] | "unknown"')).toBe('unknown');
    expect(evaluate('request.headers["x-missing"] == "a"')).toBeUndefined();
    expect(evaluate('(request.headers["x-missing"] | "") == "a"')).toBe(false);
  });

  it('has the string functions in CEL method form, function form, and Mixer forms', () => {
    expect(evaluate('request.path.startsWith("/api")')).toBe(true);
    expect(evaluate('startsWith(request.path, "/web")')).toBe(false);
    expect(evaluate('request.path.endsWith("users")')).toBe(true);
    expect(evaluate('request.headers["user-agent"].contains("curl")')).toBe(true);
    expect(evaluate('request.path.matches("^/api/v[0-9]+/")')).toBe(true);
    expect(evaluate('matches(request.path, r"/v\\d/")')).toBe(true);
    // Mixer's form: the regex is the receiver.
    expect(evaluate('"^/api/.*".matches(request.path)')).toBe(true);
    expect(evaluate('"^/web/.*".matches(request.path)')).toBe(false);
    expect(evaluate('match(request.path, "/api*")')).toBe(true);
    expect(evaluate('match(request.path, "*users")')).toBe(true);
    expect(evaluate('match(request.path, "/api")')).toBe(false);
    expect(evaluate('size(request.path) == 13 && request.headers.size() == 2')).toBe(true);
    expect(evaluate('size("héllo😀")')).toBe(6);
    expect(evaluate('toLower("AbC") == "abc"')).toBe(true);
    expect(evaluate('`raw\\d` == "raw\\\\d"')).toBe(true);
  });

  it('compares IP addresses and tests CIDR membership', () => {
    expect(evaluate('source.ip == ip("10.1.2.3")')).toBe(true);
    expect(evaluate('source.ip in ip("10.0.0.0/8")')).toBe(true);
    expect(evaluate('ip("10.0.0.0/8").contains(source.ip)')).toBe(true);
    expect(evaluate('ip("192.168.0.0/16").contains(source.ip)')).toBe(false);
    expect(evaluate('source.ip in ip("fd00::/8")')).toBe(false);
    expect(evaluate('source.ip in ip("fd00::/8")', bag({ 'source.ip': 'fd12::1' }))).toBe(true);
    expect(evaluate('ip(request.headers["x-user"]) == ip("10.1.2.3")')).toBeUndefined();
  });

  it('has timestamps and durations', () => {
    expect(evaluate('request.time > timestamp("2026-01-01T00:00:00Z")')).toBe(true);
    expect(evaluate('request.time + duration("1h") < timestamp("2026-01-02T04:04:06+00:00")')).toBe(true);
    expect(evaluate('response.duration >= duration("1.5s") && response.duration < duration("1m")')).toBe(true);
    expect(evaluate('duration("1h30m250ms")')).toBe(5_400_250);
  });

  it('has conditional, in, and the CEL literals', () => {
    expect(evaluate('conditional(response.code >= 500, "error", "ok")')).toBe('error');
    expect(evaluate('request.method in ["GET", "HEAD"]')).toBe(true);
    expect(evaluate('response.code in [500, 502]')).toBe(false);
    expect(evaluate('"x-user" in request.headers')).toBe(true);
    expect(evaluate('0x10 == 16 && 1e3 == 1000.0 && "\\u00e9" == "é"')).toBe(true);
  });

  it('records exactly what it read, short-circuit aware', () => {
    const run = (text: string): string[] => {
      const refs = new Refs();
      compileExpression(text).evaluate(request, refs);
      return refs.seen;
    };
    expect(run('request.method == "POST" && request.path == "/x"')).toEqual(['request.method EXACT']);
    expect(run('request.method == "GET" || source.namespace == "x"')).toEqual(['request.method EXACT']);
    expect(run('request.method == "GET" && request.headers["x-user"] == "alice"')).toEqual(['request.method EXACT', 'request.headers[x-user] EXACT']);
    expect(run('request.headers["x-missing"] | "d"')).toEqual(['request.headers[x-missing] ABSENCE']);
    expect(run('destination.labels["app"] | "d"')).toEqual(['destination.labels ABSENCE']);
    expect(run('request.path.matches("^/api")')).toEqual(['request.path REGEX']);
    expect(run('conditional(connection.mtls, source.namespace, request.method)')).toEqual(['connection.mtls EXACT', 'source.namespace EXACT']);
    expect(run('size(request.headers)')).toEqual(['request.headers EXACT']);
  });

  it('lists the attributes an expression may read', () => {
    const c = compileExpression('request.headers["a"] == "b" && (source.ip in ip("10.0.0.0/8") || source.namespace == "x")');
    expect(c.attributes).toEqual(['request.headers', 'source.ip', 'source.namespace']);
    expect(c.type).toBe('BOOL');
    expect(c.text).toContain('request.headers');
  });
});

describe('errors name the column and what is wrong there', () => {
  it.each([
    ['request.pth == "/"', 0, "unknown attribute 'request.pth' (did you mean 'request.path'?)"],
    ['request.size == "big"', 13, 'cannot compare INT64 and STRING'],
    ['source.ip == "10.1.2.3"', 10, 'write the address as ip("10.1.2.3")'],
    ['request.method = "GET"', 15, "write '=='"],
    ['request.path.matches("(a")', 21, 'not a valid regular expression'],
    ['request.path.matches("(?=x)")', 21, 'lookaround'],
    ['ip("10.0.0.0/33").contains(source.ip)', 3, "'/33' is not a prefix length"],
    ['duration("5 minutes")', 9, 'not a duration'],
    ['(request.size == 1', 18, "expected ')'"],
    ['request.size == 1 1', 18, "unexpected '1'"],
    ['request.headers[1]', 16, 'a map key needs STRING'],
    ['request.method.startWith("G")', 0, "unknown function 'startWith' (did you mean 'startsWith'?)"],
    ['"unterminated', 0, 'unterminated string'],
    ['request.path.matches(request.method)', 21, 'must be a string literal'],
    ['', 0, 'empty expression'],
    ['request.size && true', 0, "'&&' needs BOOL here, not INT64"],
  ])('%s', (text, position, words) => {
    const err = errorOf(text);
    expect(err.position).toBe(position);
    expect(err.message).toContain(`column ${position + 1}: `);
    expect(err.message).toContain(words);
  });

  it('requires a type where one is needed', () => {
    expect(() => compileExpressionOfType('request.path', 'BOOL')).toThrow(/STRING, but BOOL is needed/);
    expect(compileExpressionOfType('connection.mtls', 'BOOL').type).toBe('BOOL');
  });

  it('takes another vocabulary', () => {
    const vocab = new Map([['x.y', 'INT64' as const]]);
    expect(compileExpression('x.y + 1', vocab).evaluate(bag({ 'x.y': 2 }))).toBe(3);
    expect(errorOf.bind(null)('x.y')).toBeInstanceOf(ExpressionError);
  });

  it('bounds the text length and the nesting depth of hostile config', () => {
    const long = errorOf(`request.path == "${'a'.repeat(MAX_EXPRESSION_LENGTH)}"`);
    expect(long.message).toContain('over the limit');
    const deep = errorOf(`${'('.repeat(MAX_EXPRESSION_DEPTH + 1)}true${')'.repeat(MAX_EXPRESSION_DEPTH + 1)}`);
    expect(deep.message).toContain('nests more than');
    expect(errorOf(`${'!'.repeat(10_000)}true`).message).toMatch(/over the limit|nests more than/);
    const wide = errorOf(Array.from({ length: 1500 }, () => 'a').join('||'));
    expect(wide.message).toContain('more than');
    // Within the bounds, a deep but legal expression compiles and runs.
    expect(compileExpression(`${'('.repeat(MAX_EXPRESSION_DEPTH - 1)}true${')'.repeat(MAX_EXPRESSION_DEPTH - 1)}`).evaluate(request)).toBe(true);
  });
});

describe('matches runs in linear time (RE2), never a backtracking engine', () => {
  it('(a+)+$ against a long non-matching input costs time proportional to its length', () => {
    // A backtracking engine takes ~2^n steps here: n = 30 would already take seconds, and 2n never ends.
    const expr = compileExpression('request.path.matches("(a+)+$")');
    // The fastest of several runs per size: another process on the machine only ever adds time.
    const fastest = (n: number): number => {
      const input = bag({ 'request.path': `${'a'.repeat(n)}!` });
      let best = Infinity;
      for (let i = 0; i < 15; i++) {
        const start = process.hrtime.bigint();
        expect(expr.evaluate(input)).toBe(false);
        best = Math.min(best, Number(process.hrtime.bigint() - start));
      }
      return best;
    };
    fastest(25_000); // warm up the engine
    const small = fastest(25_000);
    const large = fastest(200_000);
    // Eight times the input: linear is ~8x; quadratic would be 64x (exponential never ends). Generous margin: 30x.
    expect(large / small).toBeLessThan(30);
    expect(expr.evaluate(bag({ 'request.path': 'a'.repeat(5000) }))).toBe(true);
  });
});
