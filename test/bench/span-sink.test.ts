// The tracing bench's collector (bench/span-sink.ts) as the proxy's Zipkin
// reporter meets it: a real process on loopback that answers each report 202
// on the kept connection, so every report of the run goes over one TCP
// connection and the collector's CPU stays small.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ZipkinProvider } from '../../src/config/tracing-config.js';
import type { UpstreamCluster } from '../../workers/upstream-cluster.js';
import { Span } from '../../workers/tracing/span.js';
import { TRACE_COUNTER, localTracingCounters } from '../../workers/tracing/tracing-counters.js';
import { MAX_BATCH_SPANS, ZipkinReporter } from '../../workers/tracing/zipkin-reporter.js';
import { waitFor } from '../support/isthmus-process.js';

const root = join(import.meta.dirname, '..', '..');
const provider: ZipkinProvider = { collectorCluster: 'zipkin', collectorEndpoint: '/api/v2/spans', collectorHostname: '', traceId128bit: false, sharedSpanContext: true };

let sink: ChildProcess | null = null;
afterEach(() => {
  sink?.kill('SIGTERM');
  sink = null;
});

describe('bench span sink', () => {
  it('answers every report 202 on one kept connection', async () => {
    sink = spawn(process.execPath, [join(root, 'dist', 'bench', 'span-sink.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      sink!.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
      sink!.once('exit', () => reject(new Error('span sink exited')));
    });
    const cluster = { endpoints: [{ address: '127.0.0.1', port }] } as unknown as UpstreamCluster;
    const counters = localTracingCounters();
    const reporter = new ZipkinReporter({ counters, serviceName: 's', nodeId: 'n', clusters: () => new Map([['zipkin', cluster]]), releaseSpan: () => {} }, provider);
    try {
      for (let i = 0; i < 4 * MAX_BATCH_SPANS; i++) {
        const s = new Span();
        s.traceId = '463ac35c9f6413ad';
        s.id = (i + 1).toString(16).padStart(16, '0');
        s.url = 'http://a/' + 'x'.repeat(i % 300);
        reporter.add(s);
      }
      await waitFor('four reports', () => Atomics.load(counters, TRACE_COUNTER.REPORTS_SENT) === 4, 10_000);
      expect(Atomics.load(counters, TRACE_COUNTER.SPANS_SENT)).toBe(4 * MAX_BATCH_SPANS);
      expect(Atomics.load(counters, TRACE_COUNTER.REPORTS_FAILED)).toBe(0);
      const stats = new Promise<{ connections: number; reports: number }>((resolve) => {
        sink!.stdout!.on('data', (d: Buffer) => {
          const line = d.toString().split('\n').find((l) => l.includes('span sink stats'));
          if (line !== undefined) resolve(JSON.parse(line) as { connections: number; reports: number });
        });
      });
      sink.kill('SIGUSR2');
      expect(await stats).toMatchObject({ connections: 1, reports: 4 });
    } finally {
      reporter.close();
    }
  });

  it('counts the spans of reports split anywhere, and answers GET /stats', async () => {
    sink = spawn(process.execPath, [join(root, 'dist', 'bench', 'span-sink.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      sink!.stdout!.once('data', (d: Buffer) => resolve((JSON.parse(d.toString()) as { port: number }).port));
      sink!.once('exit', () => reject(new Error('span sink exited')));
    });
    const body = '[' + [1, 2, 3].map((i) => `{"traceId":"000000000000000${i}","id":"000000000000000${i}","name":"{\\"traceId\\":"}`).join(',') + ']';
    const report = `POST /api/v2/spans HTTP/1.1\r\nhost: z\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const { connect } = await import('node:net');
    const socket = connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answers = 0;
    socket.on('data', (d: Buffer) => (answers += d.toString().split('202 Accepted').length - 1));
    // Once whole, once a byte per write (every span start split over writes).
    socket.write(report);
    for (const byte of Buffer.from(report)) {
      socket.write(Buffer.from([byte]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor('two answers', () => answers === 2, 10_000);
    const stats = await new Promise<string>((resolve, reject) => {
      const c = connect(port, '127.0.0.1', () => c.write('GET /stats HTTP/1.1\r\nhost: z\r\n\r\n'));
      let text = '';
      c.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.endsWith('}')) {
          c.destroy();
          resolve(text);
        }
      });
      c.on('error', reject);
    });
    expect(JSON.parse(stats.slice(stats.indexOf('\r\n\r\n') + 4))).toMatchObject({ reports: 2, spans: 6 });
    socket.destroy();
  });
});
