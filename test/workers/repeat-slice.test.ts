import { describe, expect, it } from 'vitest';
import { RepeatSlice } from '../../workers/repeat-slice.js';

describe('RepeatSlice', () => {
  it('gives the string of the bytes every time, mapped, whether they repeat, change length or only change bytes', () => {
    const host = new RepeatSlice(16, (s) => s.toLowerCase());
    const buf = Buffer.from('xxHost.Example:80|host.examplf:80|ab|', 'latin1');
    expect(host.slice(buf, 2, 17)).toBe('host.example:80');
    expect(host.slice(buf, 2, 17)).toBe('host.example:80');
    expect(host.slice(buf, 18, 33)).toBe('host.examplf:80'); // same length, one byte differs
    expect(host.slice(buf, 34, 36)).toBe('ab');
    expect(host.slice(buf, 34, 34)).toBe('');
    expect(host.slice(buf, 2, 17)).toBe('host.example:80');
  });

  it('slices fields longer than its limit every time (no stale value for a long field that changes)', () => {
    const path = new RepeatSlice(4);
    const a = Buffer.from('/long/a', 'latin1');
    const b = Buffer.from('/long/b', 'latin1');
    expect(path.slice(a, 0, a.length)).toBe('/long/a');
    expect(path.slice(b, 0, b.length)).toBe('/long/b');
    expect(path.slice(Buffer.from('/s'), 0, 2)).toBe('/s');
    expect(path.slice(Buffer.from('/t'), 0, 2)).toBe('/t');
  });
});
