// %START_TIME(FORMAT)%: strftime-style formats in UTC with Envoy's %s, %Nf and
// %ENS, the per-second part cached and still right when the second changes.
import { describe, expect, it } from 'vitest';
import { StartTimeFormat } from '../../workers/access-log-time.js';

const T = Date.UTC(2026, 11, 6, 9, 5, 7, 123) + 0.4567; // 2026-12-06 09:05:07.1234567 UTC (a Sunday)

describe('StartTimeFormat', () => {
  it("writes Envoy's default as toISOString", () => {
    expect(new StartTimeFormat('').render(T)).toBe('2026-12-06T09:05:07.123Z');
  });

  it('writes strftime fields, Envoy fractions and literal text', () => {
    const f = new StartTimeFormat('%Y/%m/%d %H:%M:%S %z %Ez %Z|%y %j %a %A %b %B %e %p %I|%T|%F|%D|%R|%s|%3f|%6f|%E3S|%%|x');
    expect(f.render(T)).toBe('2026/12/06 09:05:07 +0000 +00:00 UTC|26 340 Sun Sunday Dec December  6 AM 09|09:05:07|2026-12-06|12/06/26|09:05|1796547907|123|123456|07.123|%|x');
    expect(new StartTimeFormat('%f').render(T)).toMatch(/^1234567\d\d$/); // nine digits, from a float ms time
  });

  it('renders a new second after the cached one, and the fraction of each request', () => {
    const f = new StartTimeFormat('%H:%M:%S.%3f');
    expect(f.render(T)).toBe('09:05:07.123');
    expect(f.render(T + 500)).toBe('09:05:07.623');
    expect(f.render(T + 1000)).toBe('09:05:08.123');
    expect(f.render(T + 86_400_000)).toBe('09:05:07.123');
    const whole = new StartTimeFormat('%Y-%m-%d %H:%M:%S');
    expect(whole.render(T)).toBe('2026-12-06 09:05:07');
    expect(whole.render(T + 60_000)).toBe('2026-12-06 09:06:07');
  });
});
