// The denier adapter through its handler: the configured status and cache
// validity, Istio's defaults when the params say nothing.
import { describe, expect, it } from 'vitest';
import { adapterByName } from '../../../../control/mixer/adapter-registry.js';
import { instance, testContext } from './handler-context.js';

describe('denier adapter', () => {
  const denier = adapterByName('denier')!;

  it('answers every check with the configured status and validity', async () => {
    const params = denier.parseParams({ status: { code: 7, message: 'Not allowed' }, validDuration: '30s', validUseCount: 42 });
    const handler = denier.createHandler(params, testContext('denyreviewsv3handler.default'));
    const result = await handler.check!([instance('denyreviewsv3request.default', 'checknothing', {})]);
    expect(result).toEqual({ code: 7, message: 'Not allowed', validDurationMs: 30_000, validUseCount: 42 });
    expect((await handler.quota!(instance('q.default', 'quota', { dimensions: {} }), { amount: 1, bestEffort: false, deduplicationId: '' })).grantedAmount).toBe(0);
  });

  it("uses Istio's defaults: FAILED_PRECONDITION, 5s, 1000 uses, and a message naming the handler", async () => {
    const handler = denier.createHandler(denier.parseParams(undefined), testContext('deny.istio-system'));
    const result = await handler.check!([instance('x.default', 'listentry', { value: 'a' })]);
    expect(result).toEqual({ code: 9, message: 'denied by deny.istio-system', validDurationMs: 5000, validUseCount: 1000 });
  });
});
