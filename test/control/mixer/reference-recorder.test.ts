// The Check's reference recorder: one recorder serves Check after Check
// (reset), a repeat read is recorded once (EXACT beating REGEX), the same
// set in any recording order gives one shared sorted array, and a rule set
// reading many keys or an unbounded stream of map keys stays correct and
// bounded.
import { describe, expect, it } from 'vitest';
import { MAX_INTERNED_MATCHES, MAX_REFERENCE_SETS, ReferenceRecorder, canonicalReferences } from '../../../control/mixer/reference-recorder.js';

const text = (list: readonly { name: string; map_key: string; condition: string }[]): string[] => list.map((m) => `${m.name}[${m.map_key}]:${m.condition}`);

describe('ReferenceRecorder', () => {
  it('records each read once, EXACT over REGEX, sorted; reset starts a new Check; a set in any order is one shared array', () => {
    const r = new ReferenceRecorder();
    r.reference('request.path', '', 'REGEX');
    r.reference('request.headers', 'x-user', 'EXACT');
    r.reference('request.path', '', 'EXACT');
    r.reference('request.path', '', 'REGEX');
    r.reference('source.ip', '', 'ABSENCE');
    const first = r.matches();
    expect(text(first)).toEqual(['request.headers[x-user]:EXACT', 'request.path[]:EXACT', 'source.ip[]:ABSENCE']);
    expect(Object.isFrozen(first)).toBe(true);
    r.reset();
    expect(r.matches()).toHaveLength(0);
    r.reference('source.ip', '', 'ABSENCE');
    r.reference('request.path', '', 'EXACT');
    r.reference('request.headers', 'x-user', 'EXACT');
    expect(r.matches()).toBe(first);
    expect(canonicalReferences([{ name: 'source.ip', map_key: '', condition: 'ABSENCE' }, { name: 'request.path', map_key: '', condition: 'EXACT' }, { name: 'request.headers', map_key: 'x-user', condition: 'EXACT' }])).toBe(first);
    // Another condition is another set.
    r.reset();
    r.reference('source.ip', '', 'EXACT');
    r.reference('request.path', '', 'EXACT');
    r.reference('request.headers', 'x-user', 'EXACT');
    expect(r.matches()).not.toBe(first);
    expect(text(r.matches())).toEqual(['request.headers[x-user]:EXACT', 'request.path[]:EXACT', 'source.ip[]:EXACT']);
  });

  it('past its scan limit and past its tables it still records each key once, and the tables stay bounded', () => {
    const r = new ReferenceRecorder();
    for (let round = 0; round < 2; round++) for (let i = 0; i < 40; i++) r.reference('request.headers', `h${i}`, round === 0 ? 'REGEX' : 'EXACT');
    expect(r.size).toBe(40);
    expect(r.matches().every((m) => m.condition === 'EXACT')).toBe(true);
    // Map keys from request data: many more than the tables hold.
    for (let i = 0; i < MAX_INTERNED_MATCHES + MAX_REFERENCE_SETS + 10; i++) {
      r.reset();
      r.reference('request.headers', `k${i}`, 'EXACT');
      r.reference('request.headers', `k${i}`, 'EXACT');
      expect(text(r.matches())).toEqual([`request.headers[k${i}]:EXACT`]);
    }
  });
});
