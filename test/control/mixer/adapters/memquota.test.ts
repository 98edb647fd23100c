// The memquota adapter through its handler: N grants per rolling window per
// dimension set, then refusals, then recovery; overrides; best effort;
// deduplication; the bound on dimension keys. Window arithmetic runs on a fake
// clock; one case runs in real time with short windows and wide margins.
import { describe, expect, it } from 'vitest';
import type { AdapterHandler, QuotaArgs } from '../../../../control/mixer/adapter.js';
import { adapterByName } from '../../../../control/mixer/adapter-registry.js';
import { createMemQuotaHandler, type MemQuotaParams } from '../../../../control/mixer/adapters/memquota.js';
import { instance, testContext } from './handler-context.js';

const memquota = adapterByName('memquota')!;
const ONE: QuotaArgs = { amount: 1, bestEffort: false, deduplicationId: '' };

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

async function granted(handler: AdapterHandler, dims: Record<string, unknown>, args: QuotaArgs = ONE, name = 'requestcount.istio-system'): Promise<number> {
  return (await handler.quota!(instance(name, 'quota', { dimensions: dims }), args)).grantedAmount;
}

const PARAMS = {
  quotas: [
    {
      name: 'requestcount.quota.istio-system',
      maxAmount: 3,
      validDuration: '10s',
      overrides: [
        { dimensions: { destination: 'ratings', source: 'reviews' }, maxAmount: 1, validDuration: '10s' },
        { dimensions: { destination: 'free' }, maxAmount: 100, validDuration: '1s' },
      ],
    },
  ],
  minDeduplicationDuration: '2s',
};

describe('memquota adapter', () => {
  it('grants maxAmount per window per dimension set, refuses the next, and recovers as the window rolls', async () => {
    const c = clock();
    const handler = createMemQuotaHandler(memquota.parseParams(PARAMS) as MemQuotaParams, testContext(), c.now);
    const a = { destination: 'productpage', source: '10.0.0.1' };
    const b = { destination: 'productpage', source: '10.0.0.2' };
    for (let i = 0; i < 3; i++) expect(await granted(handler, a)).toBe(1);
    expect(await granted(handler, a)).toBe(0);
    // another dimension set has its own count
    expect(await granted(handler, b)).toBe(1);
    const result = await handler.quota!(instance('requestcount.istio-system', 'quota', { dimensions: a }), ONE);
    expect(result).toEqual({ grantedAmount: 0, validDurationMs: 10_000 });
    // half a window later: still spent (a fixed window restarting here would let a burst through)
    c.advance(5000);
    expect(await granted(handler, a)).toBe(0);
    // a full window after the grants: recovered
    c.advance(5001);
    for (let i = 0; i < 3; i++) expect(await granted(handler, a)).toBe(1);
    expect(await granted(handler, a)).toBe(0);
  });

  it('rolls: grants spread over the window come back one bucket at a time', async () => {
    const c = clock(0);
    const handler = createMemQuotaHandler(memquota.parseParams({ quotas: [{ name: 'q.default', maxAmount: 2, validDuration: '10s' }] }) as MemQuotaParams, testContext(), c.now);
    expect(await granted(handler, {}, ONE, 'q.default')).toBe(1); // t=0
    c.advance(6000);
    expect(await granted(handler, {}, ONE, 'q.default')).toBe(1); // t=6s
    expect(await granted(handler, {}, ONE, 'q.default')).toBe(0);
    c.advance(4500); // t=10.5s: the t=0 grant has left the window, the t=6s one has not
    expect(await granted(handler, {}, ONE, 'q.default')).toBe(1);
    expect(await granted(handler, {}, ONE, 'q.default')).toBe(0);
  });

  it('applies the first override whose dimensions all match', async () => {
    const c = clock();
    const handler = createMemQuotaHandler(memquota.parseParams(PARAMS) as MemQuotaParams, testContext(), c.now);
    const limited = { destination: 'ratings', source: 'reviews', extra: 'x' };
    expect(await granted(handler, limited)).toBe(1);
    expect(await granted(handler, limited)).toBe(0);
    for (let i = 0; i < 100; i++) expect(await granted(handler, { destination: 'free' })).toBe(1);
    expect(await granted(handler, { destination: 'free' })).toBe(0);
    expect((await handler.quota!(instance('requestcount.istio-system', 'quota', { dimensions: { destination: 'free' } }), ONE)).validDurationMs).toBe(1000);
  });

  it('best effort grants what is left; otherwise all or nothing', async () => {
    const c = clock();
    const handler = createMemQuotaHandler(memquota.parseParams(PARAMS) as MemQuotaParams, testContext(), c.now);
    expect(await granted(handler, { u: 1 }, { amount: 2, bestEffort: false, deduplicationId: '' })).toBe(2);
    expect(await granted(handler, { u: 1 }, { amount: 2, bestEffort: false, deduplicationId: '' })).toBe(0);
    expect(await granted(handler, { u: 1 }, { amount: 2, bestEffort: true, deduplicationId: '' })).toBe(1);
  });

  it('answers a repeated deduplication id with the first answer within minDeduplicationDuration', async () => {
    const c = clock();
    const handler = createMemQuotaHandler(memquota.parseParams(PARAMS) as MemQuotaParams, testContext(), c.now);
    const dedup = (id: string): QuotaArgs => ({ amount: 1, bestEffort: false, deduplicationId: id });
    expect(await granted(handler, { u: 2 }, dedup('req-1'))).toBe(1);
    expect(await granted(handler, { u: 2 }, dedup('req-1'))).toBe(1);
    expect(await granted(handler, { u: 2 }, dedup('req-1'))).toBe(1);
    // the retries were not charged: two more fit under maxAmount 3
    expect(await granted(handler, { u: 2 }, dedup('req-2'))).toBe(1);
    expect(await granted(handler, { u: 2 }, dedup('req-3'))).toBe(1);
    expect(await granted(handler, { u: 2 }, dedup('req-4'))).toBe(0);
    // past minDeduplicationDuration the id is charged again
    c.advance(10_001);
    expect(await granted(handler, { u: 2 }, dedup('req-1'))).toBe(1);
  });

  it('keeps at most maxDimensionKeys keys: empty windows are dropped, live ones are never evicted', async () => {
    const c = clock();
    const context = testContext();
    const params = memquota.parseParams({ quotas: [{ name: 'q.default', maxAmount: 1, validDuration: '1s' }], maxDimensionKeys: 3 }) as MemQuotaParams;
    const handler = createMemQuotaHandler(params, context, c.now);
    for (const ip of ['a', 'b', 'c']) expect(await granted(handler, { ip }, ONE, 'q.default')).toBe(1);
    // a fourth client while the three are live: refused, and a's count was not reset by it
    expect(await granted(handler, { ip: 'd' }, ONE, 'q.default')).toBe(0);
    expect(await granted(handler, { ip: 'a' }, ONE, 'q.default')).toBe(0);
    expect(context.lines.some((l) => l.msg.includes('dimension keys full'))).toBe(true);
    // once their windows are empty, the keys make room
    c.advance(1200);
    expect(await granted(handler, { ip: 'd' }, ONE, 'q.default')).toBe(1);
  });

  it('counts long dimension values (kept as a hash) as exactly as short ones', async () => {
    const c = clock();
    const handler = createMemQuotaHandler(memquota.parseParams(PARAMS) as MemQuotaParams, testContext(), c.now);
    const long = (ch: string) => ({ user: ch.repeat(4000) });
    for (let i = 0; i < 3; i++) expect(await granted(handler, long('a'))).toBe(1);
    expect(await granted(handler, long('a'))).toBe(0);
    expect(await granted(handler, long('b'))).toBe(1);
  });

  it('an unknown quota name is granted nothing', async () => {
    const handler = memquota.createHandler(memquota.parseParams(PARAMS), testContext());
    expect(await granted(handler, {}, ONE, 'other.default')).toBe(0);
  });

  it('in real time: N per short window, refused, then recovered', async () => {
    const handler = memquota.createHandler(memquota.parseParams({ quotas: [{ name: 'rt.default', maxAmount: 5, validDuration: '2s' }] }), testContext());
    for (let i = 0; i < 5; i++) expect(await granted(handler, { k: 'v' }, ONE, 'rt.default')).toBe(1);
    expect(await granted(handler, { k: 'v' }, ONE, 'rt.default')).toBe(0);
    await new Promise((r) => setTimeout(r, 2600));
    expect(await granted(handler, { k: 'v' }, ONE, 'rt.default')).toBe(1);
  });
});
