// The JSON log lines keep pino's shape (what log shippers and our tests parse) without pino: level numbers,
// ISO time, pid and name, a child's bindings, an Error under `err` as {type, message, stack, ...}.
import { describe, expect, it } from 'vitest';
import { JsonLogger, type LineSink } from '../src/json-logger.js';

function capture(level = 'info'): { log: JsonLogger; lines: () => Record<string, unknown>[]; children: JsonLogger[] } {
  const out: string[] = [];
  const sink: LineSink = { write: (line) => out.push(line) > 0 };
  const children: JsonLogger[] = [];
  const log = new JsonLogger(sink, ',"pid":7,"name":"t"', level, (c) => children.push(c));
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>), children };
}

describe('JsonLogger', () => {
  it("writes pino's line shape: level, ISO time, bindings, fields, msg; one line each", () => {
    const { log, lines } = capture();
    log.info({ port: 80, skip: undefined }, 'ready');
    log.warn('plain');
    const [a, b] = lines();
    expect(a).toMatchObject({ level: 30, pid: 7, name: 't', port: 80, msg: 'ready' });
    expect(new Date(a!.time as string).toISOString()).toBe(a!.time);
    expect('skip' in a!).toBe(false);
    expect(b).toMatchObject({ level: 40, msg: 'plain' });
  });

  it('drops lines below its level and follows level changes', () => {
    const { log, lines } = capture('warn');
    log.info('hidden');
    log.level = 'debug';
    log.debug('shown');
    log.level = 'silent';
    log.fatal('hidden too');
    expect(lines().map((l) => l.msg)).toEqual(['shown']);
    expect(() => (log.level = 'loud')).toThrow(/unknown log level 'loud'/);
  });

  it('serializes an Error under err (also when it is the first argument), and survives circular fields', () => {
    const { log, lines } = capture();
    const err = Object.assign(new TypeError('bad thing'), { code: 'E_BAD' });
    log.error({ err }, 'failed');
    log.error(err);
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    log.info({ circular, big: 10n }, 'odd values');
    const [first, second, third] = lines();
    expect(first!.err).toMatchObject({ type: 'TypeError', message: 'bad thing', code: 'E_BAD' });
    expect(String((first!.err as { stack: string }).stack)).toContain('bad thing');
    expect(second).toMatchObject({ msg: 'bad thing', err: { type: 'TypeError' } });
    expect(third).toMatchObject({ msg: 'odd values', circular: { a: 1, self: '[Circular]' }, big: '10' });
  });

  it("a child carries its bindings and its own level, and is reported to the parent's owner", () => {
    const { log, lines, children } = capture();
    const child = log.child({ worker: 1 }, { level: 'debug' });
    child.debug({ n: 2 }, 'from child');
    log.debug('not from parent');
    expect(children).toEqual([child]);
    expect(lines()).toEqual([expect.objectContaining({ level: 20, name: 't', worker: 1, n: 2, msg: 'from child' })]);
  });
});
