// defineRareFields (workers/request-rare-fields.ts): the rarely set fields of ActiveRequest and the Router read
// and write like plain fields, while a request that never sets one (or only resets it) makes no side object.
import { describe, expect, it } from 'vitest';
import { REQUEST_RARE_DEFAULTS, defineRareFields } from '../../workers/request-rare-fields.js';
import { ActiveRequest } from '../../workers/active-request.js';

const DEFAULTS = { trailers: null as Record<string, string> | null, status: -1, ending: false, name: '' };

class Holder {
  rareState: unknown[] | null = null;
  declare trailers: Record<string, string> | null;
  declare status: number;
  declare ending: boolean;
  declare name: string;
}
defineRareFields(Holder.prototype, DEFAULTS);

describe('defineRareFields', () => {
  it('reads the defaults and makes no side object for writes of a default', () => {
    const h = new Holder();
    expect([h.trailers, h.status, h.ending, h.name]).toEqual([null, -1, false, '']);
    h.status = -1;
    h.ending = false;
    h.trailers = null;
    expect(h.rareState).toBeNull();
    expect(Object.keys(h)).toEqual(['rareState']); // no own field shadows an accessor
  });

  it('keeps written values per object, resets to defaults, and leaves the defaults alone', () => {
    const a = new Holder();
    const b = new Holder();
    a.status = 200;
    a.status += 4;
    a.trailers = { 'grpc-status': '0' };
    expect([a.status, a.trailers, a.ending, a.name]).toEqual([204, { 'grpc-status': '0' }, false, '']);
    expect(b.status).toBe(-1);
    expect(b.rareState).toBeNull();
    a.status = -1;
    a.trailers = null;
    expect([a.status, a.trailers]).toEqual([-1, null]);
    expect(DEFAULTS).toEqual({ trailers: null, status: -1, ending: false, name: '' });
  });

  it('gives an ActiveRequest no own field for a rare one (an initializer would hide the accessor and cost 8 bytes)', () => {
    // A request on a listener the snapshot no longer has: the constructor only looks the listener up.
    const req = new ActiveRequest({ chainIndex: 0 } as never, { listeners: new Map(), clusters: new Map() } as never, 'gone');
    const own = new Set(Object.keys(req));
    for (const key of Object.keys(REQUEST_RARE_DEFAULTS)) {
      expect(own.has(key), key).toBe(false);
      expect(Object.getOwnPropertyDescriptor(ActiveRequest.prototype, key)?.get, key).toBeTypeOf('function');
    }
    expect(req.flags).toBe(0);
    expect(req.grpcStatus).toBe(-1);
    expect(req.rareState).toBeNull();
  });
});
