// `isthmus up` echoes a child's warning or error line with its cause: pino records carry it as an `error` string,
// an `err` string (the data plane's 'config not applied; keeping the previous one', the control plane's 'xDS push
// failed') or a serialized Error under `err`. Whatever else a line holds, the cause is a string or nothing.
import { describe, expect, it } from 'vitest';
import { detailOf } from '../../examples/up/up-command.js';

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
});
