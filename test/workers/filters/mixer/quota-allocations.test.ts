// The agent's quota allocations with a scripted policy server and a fake
// clock: what a grant allows, when it expires, what a refusal holds off.
import { describe, expect, it } from 'vitest';
import type { CheckCall, CheckOutcome } from '../../../../workers/filters/mixer/policy-transport.js';
import { QuotaAllocations } from '../../../../workers/filters/mixer/quota-allocations.js';

const Q = 'requestcount.quota.istio-system';

/** A server with `left` units per window, granting best effort; counts RPCs. */
function server(left: number) {
  const state = { left, rpcs: 0, asked: [] as number[] };
  const rpc = (call: CheckCall, done: (o: CheckOutcome) => void): void => {
    state.rpcs++;
    const q = call.quotas[0]!;
    state.asked.push(q.amount);
    const granted = Math.min(state.left, q.amount);
    state.left -= granted;
    done({
      ok: true, code: 0, message: '', validMs: 60_000, validUses: 0, refs: [], sharedBy: 1, first: true,
      quotas: [{ name: Q, granted, code: granted === 0 ? 8 : 0, message: granted === 0 ? 'exhausted' : '', validMs: 2000, refs: [{ name: 'request.headers', mapKey: 'x-user', condition: 'EXACT' }] }],
    });
  };
  return { state, rpc };
}

function callFor(user: string, quotaOnly = true): CheckCall {
  return {
    target: 'mixer', key: '', deduplicationId: 'd', quotaOnly, timeoutMs: 100, maxRetry: 0, baseRetryWaitMs: 10, maxRetryWaitMs: 10,
    attributes: { attributes: { 'request.headers': { string_map_value: { entries: { 'x-user': user } } } } },
    quotas: [{ name: Q, amount: 1 }],
  };
}

function granted(a: QuotaAllocations, call: CheckCall): boolean {
  let out: CheckOutcome | null = null;
  a.check(call, (o) => (out = o));
  const o = out as CheckOutcome | null;
  return o !== null && o.ok && o.code === 0 && o.quotas[0]!.granted >= 1 && o.quotas[0]!.code === 0;
}

describe('QuotaAllocations', () => {
  it('never hands out more than the server granted, and refuses locally until the window passes', () => {
    let now = 1000;
    const s = server(3);
    const a = new QuotaAllocations(s.rpc, () => now);
    const results = [0, 1, 2, 3, 4].map(() => granted(a, callFor('ann')));
    expect(results).toEqual([true, true, true, false, false]);
    expect(s.state.asked[0]).toBeGreaterThan(1);
    // One Check granted 3, one background refill was refused; nothing asked during the refusal.
    expect(s.state.rpcs).toBe(2);
    const rpcs = s.state.rpcs;
    now += 1000;
    expect(granted(a, callFor('ann'))).toBe(false);
    expect(s.state.rpcs).toBe(rpcs); // still inside the refusal window: no RPC
    s.state.left = 3;
    now += 1500;
    expect(granted(a, callFor('ann'))).toBe(true);
  });

  it('keys allocations by the dimension the answer referenced and drops units when the grant expires', () => {
    let now = 0;
    const s = server(1000);
    const a = new QuotaAllocations(s.rpc, () => now);
    for (let i = 0; i < 20; i++) expect(granted(a, callFor('bob'))).toBe(true);
    expect(s.state.rpcs).toBeLessThan(6);
    const before = s.state.rpcs;
    expect(granted(a, callFor('carol'))).toBe(true); // another dimension: its own allocation
    expect(s.state.rpcs).toBe(before + 1);
    now += 2001; // bob's grant (valid 2 s) expired
    expect(granted(a, callFor('bob'))).toBe(true);
    expect(s.state.rpcs).toBe(before + 2);
  });

  it('asks the server when the precondition is not cached, even with units left', () => {
    const s = server(1000);
    const a = new QuotaAllocations(s.rpc, () => 0);
    expect(granted(a, callFor('dan'))).toBe(true);
    const rpcs = s.state.rpcs;
    expect(granted(a, callFor('dan', false))).toBe(true);
    expect(s.state.rpcs).toBe(rpcs + 1);
  });
});
