// `isthmus up` echoes a child's warning or error line with its cause: pino records carry it as an `error` string,
// an `err` string (the data plane's 'config not applied; keeping the previous one', the control plane's 'xDS push
// failed') or a serialized Error under `err`. Whatever else a line holds, the cause is a string or nothing.
import { describe, expect, it } from 'vitest';
import { detailOf, problemLine } from '../../examples/up/up-command.js';

describe("the demo's echo of a child's error line", () => {
  it('finds the cause in error, in an err string and in a serialized err', () => {
    expect(detailOf({ level: 50, msg: 'worker could not apply config', error: 'config version 3 is not in the store' })).toBe('config version 3 is not in the store');
    expect(detailOf({ level: 50, msg: 'config not applied; keeping the previous one', err: 'bad regex' })).toBe('bad regex');
    expect(detailOf({ level: 50, msg: 'x', err: { type: 'Error', message: 'boom', stack: '...' } })).toBe('boom');
  });

  it('gives nothing, and does not throw, for causes of other shapes', () => {
    for (const err of [null, 5, true, [], { message: 7 }, { message: null }]) expect(detailOf({ level: 50, msg: 'x', err })).toBe('');
    expect(detailOf({ level: 40, msg: 'x', error: { nested: true } })).toBe('');
  });

  it('echoes a warning or error with its cause on one line, control characters escaped, and keeps info lines quiet', () => {
    const hostile = JSON.stringify({ level: 50, msg: 'proxy rejected cds: bad\r\nisthmus up: all good', err: 'x\u001b[2Jy' });
    expect(problemLine('control', hostile)).toBe('control error: proxy rejected cds: bad\\x0d\\x0aisthmus up: all good (x\\x1b[2Jy)');
    expect(problemLine('control', JSON.stringify({ level: 30, msg: 'proxy connected' }))).toBeNull();
    expect(problemLine('app', 'plain \u001b[31mred')).toBe('app: plain \\x1b[31mred');
    expect(problemLine('app', 'details ready on 127.0.0.1:9080')).toBeNull();
    expect(problemLine('app', JSON.stringify({ level: 40, msg: 'x'.repeat(5000) }))!.length).toBeLessThan(2100);
  });
});
