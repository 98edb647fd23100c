// The access log's verdict on its 2 µs goal comes from the median's 95% interval of the per-round cost: met only
// when the whole interval is within the goal, not met only when it is wholly above, else unsettled.
import { describe, expect, it } from 'vitest';
import { accessLogVerdict, formatAccessLogCpu, type AccessLogCpuReport } from '../../bench/access-log-cpu.js';
import { spreadOf } from '../../bench/tracing-cpu-stats.js';

describe('access log CPU rounds', () => {
  it('calls the goal met, not met or unsettled by where the median interval lies', () => {
    const around = (centre: number): number[] => Array.from({ length: 20 }, (_, i) => centre + (i - 10) * 0.02);
    expect(accessLogVerdict(spreadOf(around(1.1)), 20)).toBe('met');
    expect(accessLogVerdict(spreadOf(around(3)), 20)).toBe('not met');
    expect(accessLogVerdict(spreadOf(around(2)), 20)).toBe('unsettled');
    // Noisy rounds around a cost under the goal: the interval reaches past 2, so no verdict either way.
    expect(accessLogVerdict(spreadOf([-6, -3, 0.5, 1, 1.1, 1.2, 1.3, 4, 8, 13]), 10)).toBe('unsettled');
  });

  it('gives no verdict from fewer rounds than a 95% interval of the median needs (--quick runs 2)', () => {
    // Two rounds under the goal: their min-max covers the median only half the time, not 95%.
    expect(accessLogVerdict(spreadOf([1, 1.1]), 2)).toBe('unsettled');
    expect(accessLogVerdict(spreadOf([3, 3.1, 3.2, 3.3, 3.4]), 5)).toBe('unsettled');
    expect(accessLogVerdict(spreadOf([1, 1.1, 1.2, 1.3, 1.4, 1.5]), 6)).toBe('met');
    const s = spreadOf([1, 1.1]);
    const text = formatAccessLogCpu({
      rounds: 2, requests_per_round: 2000, connections: 50, pinning: 'not pinned', client: 'a Node client',
      off_us: spreadOf([16, 16.1]), on_us: spreadOf([17, 17.2]), added_us: s, control_us: null, mode: 'turns', goal_us: 2, verdict: accessLogVerdict(s, 2),
    });
    expect(text).toContain('goal <= 2 µs: unsettled (2 rounds are too few for a 95% interval: 6 at least)');
  });

  it('prints the cost with its interval and the verdict', () => {
    const s = spreadOf([1, 1.1, 1.2]);
    const report: AccessLogCpuReport = {
      rounds: 20, requests_per_round: 1000, connections: 50, pinning: 'not pinned', client: 'a Node client',
      off_us: spreadOf([16, 16.1, 16.2]), on_us: spreadOf([17, 17.2, 17.4]), added_us: s, control_us: spreadOf([-0.1, 0, 0.1]), mode: 'together', goal_us: 2, verdict: accessLogVerdict(s, 20),
    };
    const text = formatAccessLogCpu(report);
    expect(text).toContain('off 16.10 µs');
    expect(text).toContain('on 17.20 µs');
    expect(text).toContain('access log cost, on - off per round: 1.10 µs (95% CI of the median 1.00-1.20); goal <= 2 µs: met');
    expect(text).toContain('rows at the same time');
    expect(text).toContain('A/A control, a second log-off proxy - off per round: 0.00 µs (95% CI -0.10-0.10; the noise floor)');
  });
});
