// The fluentd adapter through its handler: log entries received by a Fluentd
// forward-protocol receiver in the test (a TCP server decoding msgpack), with
// tags, EventTime, integerDuration; a receiver that goes away and comes back;
// and the bound on queued entries.
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterHandler } from '../../../../control/mixer/adapter.js';
import { adapterByName } from '../../../../control/mixer/adapter-registry.js';
import { EventTime, forwardCodec } from '../../../../control/mixer/adapters/fluentd-forward.js';
import { eventually, instance, testContext } from './handler-context.js';
import { ForwardReceiver } from '../../../support/fluentd-receiver.js';

const fluentd = adapterByName('fluentd')!;

const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function handlerFor(params: Record<string, unknown>, context = testContext()): AdapterHandler {
  const handler = fluentd.createHandler(fluentd.parseParams(params), context);
  cleanup.push(() => handler.close());
  return handler;
}

const T0 = Date.UTC(2026, 11, 6, 12, 0, 0) + 250;
const log = (variables: Record<string, unknown>, valueTypes?: Record<string, 'DURATION' | 'TIMESTAMP'>) =>
  instance('accesslog.istio-system', 'logentry', { severity: 'info', timestamp: T0, variables }, valueTypes);

describe('fluentd adapter', () => {
  it('delivers log entries in the forward protocol, tagged, with EventTime and durations as Istio writes them', async () => {
    const receiver = new ForwardReceiver<EventTime>(forwardCodec);
    cleanup.push(() => receiver.close());
    const port = await receiver.listen();
    const handler = handlerFor({ address: `127.0.0.1:${port}`, pushIntervalDuration: '50ms' });
    await handler.report!([
      log({ path: '/a', code: 200, latency: 1500 }, { 'variables.latency': 'DURATION' }),
      log({ path: '/b', tag: 'custom.tag', source: new Uint8Array([192, 168, 0, 1]) }),
    ]);
    const got = await eventually(() => (receiver.received.length >= 2 ? receiver.received : undefined));
    const a = got.find((r) => r.record.path === '/a')!;
    expect(a.tag).toBe('accesslog.istio-system');
    expect(a.record).toEqual({ path: '/a', code: 200, latency: '1.5s', severity: 'info' });
    expect(a.time).toEqual(new EventTime(Math.floor(T0 / 1000), 250_000_000));
    const b = got.find((r) => r.record.path === '/b')!;
    expect(b.tag).toBe('custom.tag');
    expect(b.record).toEqual({ path: '/b', source: '192.168.0.1', severity: 'info' });

    const ints = handlerFor({ address: `127.0.0.1:${port}`, pushIntervalDuration: '50ms', integerDuration: true });
    await ints.report!([log({ path: '/c', latency: 1500 }, { 'variables.latency': 'DURATION' })]);
    const c = await eventually(() => receiver.received.find((r) => r.record.path === '/c'));
    expect(c.record.latency).toBe(1500);
  });

  it('pushes as soon as maxBatchSizeBytes are queued, before the interval', async () => {
    const receiver = new ForwardReceiver<EventTime>(forwardCodec);
    cleanup.push(() => receiver.close());
    const port = await receiver.listen();
    const handler = handlerFor({ address: `127.0.0.1:${port}`, pushIntervalDuration: '1h', maxBatchSizeBytes: 2048 });
    await handler.report!(Array.from({ length: 40 }, (_, i) => log({ path: `/p${i}`, filler: 'x'.repeat(100) })));
    await eventually(() => (receiver.received.length >= 16 ? true : undefined), 5000);
  });

  it('reconnects to a receiver that went away and came back, keeping what it could not send (bounded)', async () => {
    const receiver = new ForwardReceiver<EventTime>(forwardCodec);
    const port = await receiver.listen();
    const context = testContext();
    const handler = handlerFor({ address: `127.0.0.1:${port}`, pushIntervalDuration: '50ms', instanceBufferSize: 5 }, context);
    await handler.report!([log({ path: '/before' })]);
    await eventually(() => receiver.received.find((r) => r.record.path === '/before'));

    await receiver.close();
    await new Promise((r) => setTimeout(r, 200)); // the handler sees its connection close
    await handler.report!(Array.from({ length: 8 }, (_, i) => log({ path: `/while-away-${i}` })));
    // pushes find no one to connect to and keep the entries
    await eventually(() => (context.lines.some((l) => l.msg.includes('cannot connect')) ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(context.lines.filter((l) => l.msg.includes('cannot connect'))).toHaveLength(1);

    const back = new ForwardReceiver<EventTime>(forwardCodec);
    cleanup.push(() => back.close());
    await back.listen(port);
    const got = await eventually(() => (back.received.length >= 5 ? back.received : undefined));
    await new Promise((r) => setTimeout(r, 200));
    // five fitted in the buffer; three were dropped and counted
    expect(got.map((r) => r.record.path)).toEqual(['/while-away-0', '/while-away-1', '/while-away-2', '/while-away-3', '/while-away-4']);
    expect(handler.metricsText!()).toContain('isthmus_mixer_fluentd_dropped_entries_total{handler="h.test"} 3');
    await handler.report!([log({ path: '/after' })]);
    await eventually(() => back.received.find((r) => r.record.path === '/after'));
    expect(context.lines.some((l) => l.msg.includes('connected again'))).toBe(true);
  }, 20_000);
});
