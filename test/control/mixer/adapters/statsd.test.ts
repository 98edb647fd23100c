// The statsd adapter through its handler: metric lines received on a real UDP
// socket in the test, batched into packets of at most flushBytes, named from
// nameTemplate with the prefix, sampled, and bounded when nothing drains.
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdapterHandler } from '../../../../control/mixer/adapter.js';
import { adapterByName } from '../../../../control/mixer/adapter-registry.js';
import { createStatsdHandler, MAX_PENDING_PACKETS, type StatsdParams } from '../../../../control/mixer/adapters/statsd.js';
import { eventually, instance, testContext } from './handler-context.js';

const statsd = adapterByName('statsd')!;
const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function receiver(): Promise<{ port: number; packets: string[] }> {
  const socket: Socket = createSocket('udp4');
  const packets: string[] = [];
  socket.on('message', (msg) => packets.push(msg.toString('utf8')));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  cleanup.push(() => void socket.close());
  return { port: (socket.address() as AddressInfo).port, packets };
}

function handlerFor(params: Record<string, unknown>, random?: () => number): AdapterHandler {
  const parsed = statsd.parseParams(params) as StatsdParams;
  const handler = random === undefined ? statsd.createHandler(parsed, testContext()) : createStatsdHandler(parsed, testContext(), random);
  cleanup.push(() => handler.close());
  return handler;
}

const metric = (name: string, value: unknown, dimensions: Record<string, unknown> = {}) => instance(name, 'metric', { value, dimensions });

describe('statsd adapter', () => {
  it('sends counters, gauges and timings named from their templates, batched within flushBytes', async () => {
    const { port, packets } = await receiver();
    const handler = handlerFor({
      address: `127.0.0.1:${port}`,
      prefix: 'mesh',
      flushDuration: '50ms',
      flushBytes: 100,
      metrics: {
        'requestcount.metric.istio-system': { type: 'COUNTER', nameTemplate: '{{.method}}-{{ .code }}' },
        'inflight.metric.istio-system': { type: 'GAUGE' },
        'latency.metric.istio-system': { type: 'DISTRIBUTION', name_template: 'latency.{{.svc}}' },
      },
    });
    await handler.report!([
      metric('requestcount.metric.istio-system', 1, { method: 'GET', code: 200 }),
      metric('inflight.metric.istio-system', 7),
      metric('latency.metric.istio-system', 12.5, { svc: 'reviews' }),
      metric('unknown.metric.istio-system', 1),
      // a dimension value that tries to inject another stat
      metric('requestcount.metric.istio-system', 1, { method: 'GET:9|c\nx', code: 500 }),
    ]);
    for (let i = 0; i < 10; i++) await handler.report!([metric('requestcount.metric.istio-system', 1, { method: 'POST', code: 201 })]);
    const lines = await eventually(() => {
      const all = packets.flatMap((p) => p.split('\n'));
      return all.length >= 14 ? all : undefined;
    });
    expect(packets.every((p) => Buffer.byteLength(p) <= 100)).toBe(true);
    expect(packets.length).toBeGreaterThan(1);
    expect(packets.length).toBeLessThan(14);
    expect(lines.slice(0, 4)).toEqual(['mesh.GET-200:1|c', 'mesh.inflight.metric.istio-system:7|g', 'mesh.latency.reviews:12.5|ms', 'mesh.GET_9_c_x-500:1|c']);
    expect(lines.filter((l) => l === 'mesh.POST-201:1|c')).toHaveLength(10);
  });

  it('samples at samplingRate and marks the rate', async () => {
    const { port, packets } = await receiver();
    let n = 0;
    const handler = handlerFor({ address: `127.0.0.1:${port}`, flushDuration: '20ms', samplingRate: 0.5, metrics: { 'c.default': { type: 'COUNTER' } } }, () => (n++ % 2 === 0 ? 0.1 : 0.9));
    for (let i = 0; i < 6; i++) await handler.report!([metric('c.default', 1)]);
    const lines = await eventually(() => {
      const all = packets.flatMap((p) => p.split('\n'));
      return all.length >= 3 ? all : undefined;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(packets.flatMap((p) => p.split('\n'))).toEqual(['c.default:1|c|@0.5', 'c.default:1|c|@0.5', 'c.default:1|c|@0.5']);
    expect(lines).toHaveLength(3);
  });

  it('bounds what waits to be sent: lines past the queue are dropped and counted', async () => {
    // one burst far larger than the send queue: what does not fit is dropped, not held
    const { port } = await receiver();
    const handler = createStatsdHandler(statsd.parseParams({ address: `127.0.0.1:${port}`, flushDuration: '1h', flushBytes: 64, metrics: { 'c.default': { type: 'COUNTER' } } }) as StatsdParams, testContext());
    cleanup.push(() => handler.close());
    const many = Array.from({ length: 5000 }, () => metric('c.default', 1));
    await handler.report!(many);
    const dropped = Number(/isthmus_mixer_statsd_dropped_lines_total\{handler="h\.test"\} (\d+)/.exec(handler.metricsText!())?.[1]);
    expect(dropped).toBeGreaterThan(0);
    expect(dropped).toBeLessThan(5000 - MAX_PENDING_PACKETS);
  });
});
