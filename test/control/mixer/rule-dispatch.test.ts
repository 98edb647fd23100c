// The rule dispatcher over a real adapter pool (piscina threads running the
// built-in adapters from dist/, so `npx tsc -p .` first): how Check answers
// combine, what they say was read, quotas on a pinned memquota handler, and
// the pool's pushback.
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileExpression } from '../../../src/policy/expression.js';
import { createLogger } from '../../../src/log.js';
import { AdapterPool, PoolFullError, type HandlerSpec } from '../../../control/mixer/adapter-pool.js';
import { RuleDispatcher, type DispatchInstance, type DispatchRule } from '../../../control/mixer/rule-dispatch.js';
import { MapAttributeBag } from '../../../control/mixer/attribute-message.js';
import { adapterByName } from '../../../control/mixer/adapter-registry.js';
import type { AttributeValue } from '../../../src/policy/attribute-value.js';

const log = createLogger('test', 'silent');
let pool: AdapterPool | null = null;
const temps: string[] = [];

afterEach(async () => {
  await pool?.close();
  pool = null;
  for (const t of temps.splice(0)) rmSync(t, { force: true });
});

const bag = (values: Record<string, AttributeValue>): MapAttributeBag => new MapAttributeBag(new Map(Object.entries(values)));
const headers = (h: Record<string, string>): AttributeValue => Object.assign(Object.create(null) as Record<string, string>, h);
const spec = (name: string, adapter: string, raw: unknown): HandlerSpec => ({ name, adapter, params: adapterByName(adapter)!.parseParams(raw), fingerprint: JSON.stringify(raw) });
const nothing: DispatchInstance = { name: 'nothing.istio-system', template: 'checknothing', fields: new Map() };
const rule = (name: string, match: string | null, handler: string, instances: DispatchInstance[]): DispatchRule => ({
  name, match: match === null ? null : compileExpression(match), actions: [{ handler, instances }],
});
const refs = (r: { name: string; map_key: string; condition: string }[]): string[] => r.map((m) => `${m.name}${m.map_key ? `[${m.map_key}]` : ''}:${m.condition}`);

describe('RuleDispatcher', { timeout: 30_000 }, () => {
  it('any denial wins, durations and use counts are the smallest given, references are the union (with absence)', async () => {
    pool = new AdapterPool({ threads: 2, log });
    await pool.configure([
      spec('deny', 'denier', { status: { code: 7, message: 'no beta' }, validDuration: '9s', validUseCount: 90 }),
      spec('allow', 'denier', { status: { code: 0 }, validDuration: '3s', validUseCount: 300 }),
    ]);
    const dispatcher = new RuleDispatcher([
      rule('allow-api', 'request.path.startsWith("/api")', 'allow', [nothing]),
      rule('deny-beta', 'request.headers["x-user"] == "beta"', 'deny', [nothing]),
    ], pool);
    const denied = await dispatcher.check(bag({ 'request.path': '/api/x', 'request.headers': headers({ 'x-user': 'beta' }) }), new Map(), '');
    expect(denied.code).toBe(7);
    expect(denied.message).toBe('no beta');
    expect(denied.validDurationMs).toBe(3000);
    expect(denied.validUseCount).toBe(90);
    expect(refs(denied.referenced)).toEqual(['request.headers[x-user]:EXACT', 'request.path:EXACT']);
    const absent = await dispatcher.check(bag({ 'request.path': '/web' }), new Map(), '');
    expect(absent.code).toBe(0);
    expect(refs(absent.referenced)).toEqual(['request.headers:ABSENCE', 'request.path:EXACT']);
    const keyAbsent = await dispatcher.check(bag({ 'request.path': '/web', 'request.headers': headers({ 'x-other': 'beta' }) }), new Map(), '');
    expect(refs(keyAbsent.referenced)).toEqual(['request.headers[x-user]:ABSENCE', 'request.path:EXACT']);
    expect(absent.validDurationMs).toBe(60_000); // no handler was called
  });

  it('a memquota handler pinned to one thread counts every Check, whichever order they come in', async () => {
    pool = new AdapterPool({ threads: 3, log });
    await pool.configure([
      spec('a', 'denier', { status: { code: 0 } }), spec('b', 'denier', { status: { code: 0 } }),
      spec('quota', 'memquota', { quotas: [{ name: 'requestcount.istio-system', maxAmount: 5, validDuration: '30s' }] }),
    ]);
    const quota: DispatchInstance = { name: 'requestcount.istio-system', template: 'quota', fields: new Map([['dimensions', { kind: 'map', fields: new Map() }]]) };
    const dispatcher = new RuleDispatcher([rule('q', null, 'quota', [quota])], pool);
    const answers = await Promise.all(Array.from({ length: 12 }, () => dispatcher.check(bag({}), new Map([['requestcount.istio-system', { amount: 1, bestEffort: false }]]), '')));
    const granted = answers.map((a) => a.quotas.get('requestcount.istio-system')!).filter((q) => q.code === 0 && q.grantedAmount === 1);
    expect(granted).toHaveLength(5);
    expect(answers.filter((a) => a.quotas.get('requestcount.istio-system')!.code === 8)).toHaveLength(7);
    // A reload with the same handler keeps its counters.
    await pool.configure([spec('quota', 'memquota', { quotas: [{ name: 'requestcount.istio-system', maxAmount: 5, validDuration: '30s' }] })]);
    const again = await dispatcher.check(bag({}), new Map([['requestcount.istio-system', { amount: 1, bestEffort: false }]]), '');
    expect(again.quotas.get('requestcount.istio-system')!.code).toBe(8);
  });

  it('a full pool refuses Checks (PoolFullError) and drops Report batches with a count', async () => {
    const plugin = join(tmpdir(), `isthmus-blocking-adapter-${process.pid}.mjs`);
    temps.push(plugin);
    writeFileSync(plugin, `export default { name: 'blocker', templates: ['checknothing', 'metric'],
      parseParams: (raw) => raw ?? {},
      createHandler: () => { const cell = new Int32Array(new SharedArrayBuffer(4));
        return { check() { Atomics.wait(cell, 0, 0, 300); return { code: 0, message: '', validDurationMs: 1, validUseCount: 1 }; }, report() {}, close() {} }; } };\n`);
    pool = new AdapterPool({ threads: 1, maxQueue: 4, concurrentTasksPerThread: 1, plugins: [pathToFileURL(plugin).href], log });
    await pool.configure([{ name: 'blocker', adapter: 'blocker', params: {}, fingerprint: '1' }]);
    const dispatcher = new RuleDispatcher([rule('all', null, 'blocker', [nothing, { name: 'm', template: 'metric', fields: new Map() }])], pool);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => dispatcher.check(bag({}), new Map(), '')));
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(PoolFullError);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThan(0);
    // While Checks wait, a report batch is dropped rather than queued.
    const waiting = Array.from({ length: 3 }, () => dispatcher.check(bag({}), new Map(), '').catch(() => null));
    expect(dispatcher.report([bag({})])).toBe(1);
    expect(pool.droppedReports).toBe(1);
    await Promise.all(waiting);
  });
});

describe('inline handlers', { timeout: 30_000 }, () => {
  it('a denier answers on the gRPC thread: its Checks do not wait behind a blocked pool thread', async () => {
    const plugin = join(tmpdir(), `isthmus-blocking-adapter-inline-${process.pid}.mjs`);
    temps.push(plugin);
    writeFileSync(plugin, `export default { name: 'blocker', templates: ['checknothing'],
      parseParams: (raw) => raw ?? {},
      createHandler: () => { const cell = new Int32Array(new SharedArrayBuffer(4));
        return { check() { Atomics.wait(cell, 0, 0, 1500); return { code: 0, message: '', validDurationMs: 1, validUseCount: 1 }; }, close() {} }; } };\n`);
    // One thread: on the pool the denier would share it with the blocker.
    pool = new AdapterPool({ threads: 1, plugins: [pathToFileURL(plugin).href], log });
    await pool.configure([{ name: 'blocker', adapter: 'blocker', params: {}, fingerprint: '1' }, spec('deny', 'denier', { status: { code: 7, message: 'no beta' } })]);
    const dispatcher = new RuleDispatcher([
      rule('slow', 'request.path == "/slow"', 'blocker', [nothing]),
      rule('deny-beta', 'request.headers["x-user"] == "beta"', 'deny', [nothing]),
    ], pool);
    const slow = dispatcher.check(bag({ 'request.path': '/slow' }), new Map(), '');
    await new Promise((r) => setTimeout(r, 100)); // the blocker's thread is now blocked
    const started = performance.now();
    const denied = await dispatcher.check(bag({ 'request.path': '/x', 'request.headers': headers({ 'x-user': 'beta' }) }), new Map(), '');
    expect(denied.code).toBe(7);
    expect(performance.now() - started).toBeLessThan(700); // the blocker holds its thread for 1.5 s
    expect((await slow).code).toBe(0);
  });

  it('Checks answered at once and Checks waiting on the pool each keep their own answer and references (one recorder is reused)', async () => {
    const plugin = join(tmpdir(), `isthmus-late-adapter-${process.pid}.mjs`);
    temps.push(plugin);
    writeFileSync(plugin, `export default { name: 'late', templates: ['checknothing'], parseParams: (raw) => raw ?? {},
      createHandler: () => ({ check() { return new Promise((r) => setTimeout(() => r({ code: 5, message: 'late', validDurationMs: 2000, validUseCount: 20 }), 150)); }, close() {} }) };\n`);
    pool = new AdapterPool({ threads: 1, plugins: [pathToFileURL(plugin).href], log });
    await pool.configure([{ name: 'late', adapter: 'late', params: {}, fingerprint: '1' }, spec('deny', 'denier', { status: { code: 7, message: 'no beta' }, validDuration: '4s', validUseCount: 40 })]);
    const dispatcher = new RuleDispatcher([
      rule('deny-beta', 'request.headers["x-user"] == "beta"', 'deny', [nothing]),
      rule('slow', 'request.path == "/slow" && request.method == "GET"', 'late', [nothing]),
    ], pool);
    // The waiting Check is denied by the inline rule and then waits on the pool: both answers must combine.
    const waiting = dispatcher.check(bag({ 'request.path': '/slow', 'request.method': 'GET', 'request.headers': headers({ 'x-user': 'beta' }) }), new Map(), '');
    const now: ReturnType<RuleDispatcher['checkNow']>[] = [];
    for (let i = 0; i < 50; i++) {
      now.push(i % 2 === 0
        ? dispatcher.checkNow(bag({ 'request.path': `/p${i}` }), new Map(), '')
        : dispatcher.checkNow(bag({ 'request.path': '/x', 'request.headers': headers({ 'x-user': i % 3 === 0 ? 'beta' : 'alpha' }) }), new Map(), ''));
    }
    for (const [i, answer] of now.entries()) {
      expect(answer).not.toBeInstanceOf(Promise);
      const a = answer as Awaited<typeof answer>;
      if (i % 2 === 0) {
        expect([a.code, refs([...a.referenced])]).toEqual([0, ['request.headers:ABSENCE', 'request.path:EXACT']]);
      } else {
        expect(a.code).toBe(i % 3 === 0 ? 7 : 0);
        expect(refs([...a.referenced])).toEqual(['request.headers[x-user]:EXACT', 'request.path:EXACT']);
      }
    }
    const late = await waiting;
    expect([late.code, late.message, late.validDurationMs, late.validUseCount]).toEqual([7, 'no beta', 2000, 20]);
    expect(refs([...late.referenced])).toEqual(['request.headers[x-user]:EXACT', 'request.method:EXACT', 'request.path:EXACT']);
  });

  it('an adapter declared inline that answers asynchronously denies with INTERNAL, not cached', async () => {
    const plugin = join(tmpdir(), `isthmus-lying-adapter-${process.pid}.mjs`);
    temps.push(plugin);
    writeFileSync(plugin, `export default { name: 'liar', templates: ['checknothing'], parseParams: (raw) => raw ?? {}, inline: () => true,
      createHandler: () => ({ async check() { return { code: 0, message: '', validDurationMs: 1000, validUseCount: 1 }; }, close() {} }) };\n`);
    const { loadPluginAdapters } = await import('../../../control/mixer/plugin-adapters.js');
    await loadPluginAdapters([pathToFileURL(plugin).href]);
    pool = new AdapterPool({ threads: 1, log });
    await pool.configure([{ name: 'liar', adapter: 'liar', params: {}, fingerprint: '1' }]);
    const answer = await new RuleDispatcher([rule('all', null, 'liar', [nothing])], pool).check(bag({}), new Map(), '');
    expect(answer.code).toBe(13);
    expect(answer.message).toMatch(/declared inline but answered asynchronously/);
    expect(answer.validDurationMs).toBe(0);
  });

  it('only pure handlers run inline: the denier and an in-memory list do; memquota, a fetched list and a long regex list do not', async () => {
    const { runsInline } = await import('../../../control/mixer/inline-handlers.js');
    expect(runsInline(spec('d', 'denier', {}))).toBe(true);
    expect(runsInline(spec('l', 'list', { overrides: ['10.0.0.0/8'], entryType: 'IP_ADDRESSES' }))).toBe(true);
    expect(runsInline(spec('l', 'list', { providerUrl: 'http://127.0.0.1:1/list', refreshInterval: '10s', ttl: '60s' }))).toBe(false);
    expect(runsInline(spec('l', 'list', { overrides: Array.from({ length: 65 }, (_, i) => `^a${i}$`), entryType: 'REGEX' }))).toBe(false);
    expect(runsInline(spec('q', 'memquota', { quotas: [{ name: 'q.istio-system', maxAmount: 5 }] }))).toBe(false);
  });
});

describe('AdapterPool', { timeout: 30_000 }, () => {
  it('a handler that ends its thread answers INTERNAL once; the restarted thread gets its handlers again and answers', async () => {
    const plugin = join(tmpdir(), `isthmus-exiting-adapter-${process.pid}.mjs`);
    temps.push(plugin);
    writeFileSync(plugin, `export default { name: 'exiter', templates: ['checknothing'], parseParams: (raw) => raw ?? {},
      createHandler: () => ({ check(instances) { if (instances[0]?.fields.exit === true) process.exit(3); return { code: 0, message: 'alive', validDurationMs: 1, validUseCount: 1 }; }, close() {} }) };\n`);
    pool = new AdapterPool({ threads: 1, plugins: [pathToFileURL(plugin).href], log });
    await pool.configure([{ name: 'exiter', adapter: 'exiter', params: {}, fingerprint: '1' }]);
    const crash = await pool.check('exiter', [{ name: 'i', template: 'checknothing', fields: { exit: true } }]).then(() => null, (err: Error) => err);
    expect(crash).toBeInstanceOf(Error);
    expect(crash).not.toBeInstanceOf(PoolFullError);
    const after = await pool.check('exiter', [{ name: 'i', template: 'checknothing', fields: {} }]);
    expect(after.message).toBe('alive');
  });
});
