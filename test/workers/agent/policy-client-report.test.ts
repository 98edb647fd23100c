// The agent's Report path on a real socket to a real gRPC server (the
// service's proto-loader codec decodes what arrives): batches a worker hands
// over are sent as they are; while a slow server holds the 2 calls in flight
// the ones waiting behind are joined into fewer calls (a ReportRequest's
// entries concatenate), every entry arriving once and every batch counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';
import { mixerServiceDefinition } from '../../../src/xds/mixer-protos.js';
import { PolicyClient } from '../../../workers/agent/policy-client.js';
import { MIXER_COUNTER, createMixerCounters } from '../../../workers/filters/mixer/mixer-counters.js';
import { startMixerServer, type MixerTestServer } from '../../support/mixer-test-server.js';

let server: MixerTestServer;

beforeAll(async () => {
  server = await startMixerServer();
});

afterAll(async () => {
  await server?.close();
});

/** A framed ReportRequest of `n` entries whose request.path is `${tag}/${i}`. */
function batch(tag: string, n: number): Buffer {
  const body = mixerServiceDefinition().Report!.requestSerialize({ attributes: Array.from({ length: n }, (_, i) => ({ attributes: { 'request.path': { string_value: `${tag}/${i}` } } })) });
  const framed = Buffer.alloc(5 + body.length);
  framed.writeUInt32BE(body.length, 1);
  body.copy(framed, 5);
  return framed;
}

describe('PolicyClient Report', () => {
  it('joins batches that wait behind a slow server into fewer calls, each entry once, each batch counted sent', async () => {
    server.behaviour.reportDelayMs = 300;
    const counters = createMixerCounters();
    const client = new PolicyClient({ control: null, clusterEndpoint: () => `127.0.0.1:${server.port}`, counters, log: createLogger('test', 'error') });
    try {
      for (let b = 0; b < 6; b++) client.report('mixer', batch(`/b${b}`, 3), 3);
      await expect.poll(() => Atomics.load(counters, MIXER_COUNTER.REPORT_BATCHES_SENT), { timeout: 10_000 }).toBe(6);
      const paths = server.reports.flat().map((a) => (a['request.path'] as { string_value: string }).string_value).sort();
      expect(paths).toEqual(Array.from({ length: 6 }, (_, b) => [0, 1, 2].map((i) => `/b${b}/${i}`)).flat().sort());
      expect(server.reports.length).toBeLessThan(6);
      expect(Atomics.load(counters, MIXER_COUNTER.REPORT_BATCHES_DROPPED)).toBe(0);
    } finally {
      server.behaviour.reportDelayMs = 0;
      client.close();
    }
  });

  it('drops and counts a batch that is not one framed message', () => {
    const counters = createMixerCounters();
    const client = new PolicyClient({ control: null, clusterEndpoint: () => `127.0.0.1:${server.port}`, counters, log: createLogger('test', 'error') });
    try {
      const bad = batch('/bad', 1);
      bad.writeUInt32BE(bad.length, 1); // the prefix says 5 bytes more than there are
      client.report('mixer', bad, 1);
      client.report('mixer', new Uint8Array(3), 1);
      expect(Atomics.load(counters, MIXER_COUNTER.REPORT_BATCHES_DROPPED)).toBe(2);
    } finally {
      client.close();
    }
  });
});
