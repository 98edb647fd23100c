// isthmus up's port plan: every port of the demo in one contiguous range
// from --ports-from, none twice, the app URL first and the dashboard next.
import { describe, expect, it } from 'vitest';
import { planPorts, PORTS_USED, WORKLOADS } from '../../examples/up/port-plan.js';

describe('planPorts', () => {
  it('takes exactly the ports N .. N+PORTS_USED-1 minus productpage\'s unused inbound slot, each once', () => {
    const plan = planPorts(20080);
    expect(plan.entry).toBe(20080);
    expect(plan.controlAdmin).toBe(20081);
    expect(plan.workloads).toHaveLength(WORKLOADS.length);
    expect(plan.workloads[0]!.inbound).toBe(20080); // the app URL is productpage's sidecar
    const all = plan.workloads.flatMap((w) => [w.app, w.outbound, w.inbound, w.admin]).concat([plan.controlAdmin, plan.controlXds, plan.controlSecureXds]);
    expect(new Set(all).size).toBe(all.length);
    expect(Math.min(...all)).toBe(20080);
    expect(Math.max(...all)).toBe(20080 + PORTS_USED - 1);
    expect(plan.all).toEqual([...new Set(all)].sort((a, b) => a - b));
  });

  it('refuses a range that does not fit', () => {
    expect(() => planPorts(65535 - PORTS_USED + 2)).toThrow(/--ports-from must be 1024-/);
    expect(() => planPorts(80)).toThrow(/--ports-from/);
  });
});
