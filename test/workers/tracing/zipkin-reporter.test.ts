// The Zipkin reporter against real sockets: spans go out as one JSON list
// per batch to the collector cluster's endpoint; a collector that accepts and
// never answers holds at most one report in flight and a bounded queue, the
// rest counted as dropped; a refused connection counts a failed report.
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ZipkinProvider } from '../../../src/config/tracing-config.js';
import type { UpstreamCluster } from '../../../workers/upstream-cluster.js';
import { Span } from '../../../workers/tracing/span.js';
import { setSpanIds } from '../../support/span-ids.js';
import { TRACE_COUNTER, localTracingCounters } from '../../../workers/tracing/tracing-counters.js';
import { MAX_BATCH_BYTES, MAX_BATCH_SPANS, MAX_QUEUED_BYTES, MAX_QUEUED_SPANS, PENDING_UNITS, ZipkinReporter, type ReporterHost } from '../../../workers/tracing/zipkin-reporter.js';
import { closedPort } from '../../e2e/peers.js';
import { startZipkinReceiver, type ZipkinReceiver } from '../../support/zipkin-receiver.js';
import { waitFor } from '../../support/isthmus-process.js';

const provider: ZipkinProvider = { collectorCluster: 'zipkin', collectorEndpoint: '/api/v2/spans', collectorHostname: '', traceId128bit: false, sharedSpanContext: true };

function hostFor(port: number): ReporterHost {
  const cluster = { endpoints: [{ address: '127.0.0.1', port }] } as unknown as UpstreamCluster;
  return { counters: localTracingCounters(), serviceName: 'svc.ns', nodeId: 'node', clusters: () => new Map([['zipkin', cluster]]), releaseSpan: () => {} };
}

function span(i: number): Span {
  const s = new Span();
  setSpanIds(s, { traceId: '463ac35c9f6413ad', id: (i + 1).toString(16).padStart(16, '0') });
  s.authority = 'svc';
  s.timestampUs = 1_700_000_000_000_000;
  s.durationUs = 10;
  s.statusCode = 200;
  s.userAgent = 'quote " and \\ and \u0001';
  return s;
}

const cleanup: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

/** A reporter (and its host's counters) sending to a collector on 127.0.0.1:`port`; closed after the test. */
function reporterTo(port: number): { host: ReporterHost; reporter: ZipkinReporter } {
  const host = hostFor(port);
  const reporter = new ZipkinReporter(host, provider);
  cleanup.push(() => reporter.close());
  return { host, reporter };
}

/** A Zipkin receiver and a reporter sending to it, both closed after the test. */
async function reporterToReceiver(): Promise<{ receiver: ZipkinReceiver; host: ReporterHost; reporter: ZipkinReporter }> {
  const receiver = await startZipkinReceiver();
  cleanup.push(() => receiver.close());
  return { receiver, ...reporterTo(receiver.port) };
}

/** A raw TCP collector that keeps every connection (`held`) and hands each to `onSocket`; all closed after the test. */
async function rawCollector(onSocket: (s: net.Socket) => void = () => {}): Promise<{ held: net.Socket[]; port: number }> {
  const held: net.Socket[] = [];
  const server = net.createServer((s) => {
    held.push(s.on('error', () => {}));
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    for (const h of held) h.destroy();
    server.close();
  });
  return { held, port: (server.address() as net.AddressInfo).port };
}

describe('ZipkinReporter', () => {
  it('sends queued spans as Zipkin v2 JSON after the flush interval, a full batch at once', async () => {
    const { receiver, host, reporter } = await reporterToReceiver();
    reporter.add(span(0));
    await waitFor('the timer flush', () => receiver.spans.length === 1, 5000);
    expect(receiver.spans[0]).toMatchObject({ traceId: '463ac35c9f6413ad', id: '0000000000000001', kind: 'CLIENT', localEndpoint: { serviceName: 'svc.ns' } });
    expect(receiver.spans[0]!.tags?.user_agent).toBe('quote " and \\ and \u0001');
    for (let i = 1; i <= MAX_BATCH_SPANS; i++) reporter.add(span(i));
    await waitFor('the batch', () => receiver.spans.length === MAX_BATCH_SPANS + 1, 5000);
    // Counted once the collector's answer is read (a moment after the receiver has the spans).
    await waitFor('the count', () => Atomics.load(host.counters, TRACE_COUNTER.SPANS_SENT) === MAX_BATCH_SPANS + 1, 5000);
    expect(Atomics.load(host.counters, TRACE_COUNTER.REPORTS_SENT)).toBe(2);
    expect(Atomics.load(host.counters, TRACE_COUNTER.TIMER_FLUSHED)).toBeGreaterThanOrEqual(1);
  });

  it('gives every span it took back to the worker exactly once (written, dropped by a bound, or pending at close), so a pooled span never serves two requests', async () => {
    const { port } = await rawCollector();
    const host = hostFor(port);
    const released = new Map<Span, number>();
    const reporter = new ZipkinReporter({ ...host, releaseSpan: (s) => released.set(s, (released.get(s) ?? 0) + 1) }, provider);
    cleanup.push(() => reporter.close());
    const spans: Span[] = [];
    const add = (n: number): void => {
      for (let i = 0; i < n; i++) {
        const s = span(spans.length);
        spans.push(s);
        reporter.add(s);
      }
    };
    add(MAX_BATCH_SPANS + 5); // a full batch written (and sent), 5 still pending as objects
    expect(released.size).toBe(MAX_BATCH_SPANS);
    add(MAX_QUEUED_SPANS + 100); // the count bound drops the excess
    expect(Atomics.load(host.counters, TRACE_COUNTER.SPANS_DROPPED)).toBeGreaterThan(0);
    const total = spans.length;
    reporter.close();
    expect(released.size).toBe(total);
    for (const s of spans) expect(released.get(s)).toBe(1);
  });

  it('writes waiting spans at once when the request values they hold pass PENDING_UNITS (a client-sized x-request-id or User-Agent)', async () => {
    const { port } = await rawCollector();
    const host = hostFor(port);
    let released = 0;
    const reporter = new ZipkinReporter({ ...host, releaseSpan: () => released++ }, provider);
    cleanup.push(() => reporter.close());
    for (const field of ['requestId', 'userAgent'] as const) {
      released = 0;
      for (let i = 0; i < 2; i++) {
        const s = span(i);
        s[field] = 'r'.repeat(PENDING_UNITS / 2 + 1);
        reporter.add(s);
      }
      // Two spans, far fewer than PENDING_SPANS, but holding more than PENDING_UNITS: written (and handed back) now.
      expect(released, field).toBe(2);
    }
  });

  it('keeps at most one report in flight and a bounded queue when the collector never answers', async () => {
    const { held, port } = await rawCollector();
    const { host, reporter } = reporterTo(port);
    const total = MAX_BATCH_SPANS + MAX_QUEUED_SPANS + 500;
    for (let i = 0; i < total; i++) reporter.add(span(i));
    expect(reporter.queued).toBe(MAX_QUEUED_SPANS);
    expect(Atomics.load(host.counters, TRACE_COUNTER.SPANS_DROPPED)).toBe(500);
    await waitFor('one connection', () => held.length === 1, 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(held).toHaveLength(1);
  });

  it('counts a report to a closed port as failed and sends nothing', async () => {
    const { host, reporter } = reporterTo(await closedPort());
    reporter.add(span(0));
    reporter.flush(false);
    await waitFor('the failure', () => Atomics.load(host.counters, TRACE_COUNTER.REPORTS_FAILED) === 1, 5000);
    expect(Atomics.load(host.counters, TRACE_COUNTER.SPANS_SENT)).toBe(0);
  });

  it('decides a report on the status line sent in 1-byte pieces, though the collector then dribbles and never closes', async () => {
    const timers: NodeJS.Timeout[] = [];
    cleanup.push(() => {
      for (const t of timers) clearInterval(t);
    });
    const { held, port } = await rawCollector((s) => {
      const answer = 'HTTP/1.1 202 Accepted\r\nx-slow: ' + 'a'.repeat(1000);
      let at = 0;
      // Reads the report, then answers one byte every 40 ms (never the end of the head, never a close).
      const t = setInterval(() => {
        if (at < answer.length && !s.destroyed) s.write(answer[at++]!);
      }, 40);
      timers.push(t);
    });
    const { host, reporter } = reporterTo(port);
    reporter.add(span(0));
    reporter.flush(false);
    await waitFor('the first report counted', () => Atomics.load(host.counters, TRACE_COUNTER.REPORTS_SENT) === 1, 3000);
    // The one report slot is free again: the next batch goes out on a new connection.
    reporter.add(span(1));
    reporter.flush(false);
    await waitFor('the second report counted', () => Atomics.load(host.counters, TRACE_COUNTER.REPORTS_SENT) === 2, 3000);
    expect(held).toHaveLength(2);
    expect(Atomics.load(host.counters, TRACE_COUNTER.SPANS_SENT)).toBe(2);
  });

  it('sends the report head with its path, Host and the body\'s Content-Length, for a short and a very long collector endpoint', async () => {
    // The head is written into room kept ahead of the body; one too long for that room goes out in parts instead.
    for (const endpoint of ['/api/v2/spans', '/api/v2/spans?' + 'k=v&'.repeat(200)]) {
      let got = Buffer.alloc(0);
      const { port } = await rawCollector((s) =>
        s.on('data', (c: Buffer) => {
          got = Buffer.concat([got, c]);
          const text = got.toString('latin1');
          const end = text.indexOf('\r\n\r\n');
          const length = /\r\ncontent-length: (\d+)\r\n/.exec(text);
          if (end >= 0 && length !== null && got.length >= end + 4 + Number(length[1])) s.write('HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n');
        }),
      );
      const host = hostFor(port);
      const reporter = new ZipkinReporter(host, { ...provider, collectorEndpoint: endpoint, collectorHostname: 'zipkin.example:9411' });
      cleanup.push(() => reporter.close());
      for (let i = 0; i < 3; i++) reporter.add(span(i));
      reporter.flush(false);
      await waitFor('the report sent', () => Atomics.load(host.counters, TRACE_COUNTER.REPORTS_SENT) === 1, 5000);
      const text = got.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      expect(text.slice(0, end + 4)).toBe(
        `POST ${endpoint} HTTP/1.1\r\nhost: zipkin.example:9411\r\ncontent-type: application/json\r\ncontent-length: ${got.length - end - 4}\r\n\r\n`,
      );
      const spans = JSON.parse(got.subarray(end + 4).toString('utf8')) as { id: string }[];
      expect(spans.map((s) => s.id)).toEqual(['0000000000000001', '0000000000000002', '0000000000000003']);
    }
  });

  it('reports a span with a long non-ASCII value intact (the batch grows past its first buffer)', async () => {
    const { receiver, reporter } = await reporterToReceiver();
    const long = 'ü€😀"\n'.repeat(20_000);
    const s = span(0);
    s.userAgent = long;
    reporter.add(span(1));
    reporter.add(s);
    reporter.flush(false);
    await waitFor('both spans', () => receiver.spans.length === 2, 5000);
    expect(receiver.spans[1]!.tags?.user_agent).toBe(long);
  });

  it('bounds the queue in bytes too: sampled requests with huge header values while the collector never answers are dropped and counted', async () => {
    const { host, reporter } = reporterTo((await rawCollector()).port);
    const huge = 'u'.repeat(60 * 1024); // a User-Agent as long as the default header limit lets through
    const total = 1000; // 60 MB of span JSON if all were kept
    for (let i = 0; i < total; i++) {
      const s = span(i);
      s.userAgent = huge;
      reporter.add(s);
    }
    reporter.flush(false);
    const dropped = Atomics.load(host.counters, TRACE_COUNTER.SPANS_DROPPED);
    expect(dropped).toBeGreaterThan(0);
    expect((total - dropped) * huge.length).toBeLessThanOrEqual(MAX_QUEUED_BYTES + MAX_BATCH_BYTES);
  });

  it('sends every report on one kept connection to the collector, not a new TCP connection per report', async () => {
    const { receiver, host, reporter } = await reporterToReceiver();
    for (let report = 1; report <= 5; report++) {
      for (let i = 0; i < MAX_BATCH_SPANS; i++) reporter.add(span(i));
      await waitFor(`report ${report}`, () => Atomics.load(host.counters, TRACE_COUNTER.REPORTS_SENT) === report, 5000);
    }
    expect(receiver.spans).toHaveLength(5 * MAX_BATCH_SPANS);
    expect(receiver.connections).toBe(1);
  });

  it('sends the next report on a new connection after the collector closed a kept one (idle timeout, connection: close)', async () => {
    let connections = 0;
    let spans = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        spans += (JSON.parse(body) as unknown[]).length;
        // Every other answer says it closes the connection.
        if (spans % 2 === 0) res.setHeader('connection', 'close');
        res.writeHead(202).end();
      });
    });
    server.keepAliveTimeout = 100; // closes an idle kept connection long before the reporter would
    server.on('connection', () => connections++);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }));
    const { host, reporter } = reporterTo((server.address() as net.AddressInfo).port);
    for (let report = 1; report <= 4; report++) {
      reporter.add(span(report));
      reporter.flush(false);
      await waitFor(`report ${report}`, () => Atomics.load(host.counters, TRACE_COUNTER.REPORTS_SENT) === report, 5000);
      if (report === 1) await new Promise((r) => setTimeout(r, 300)); // past the collector's idle timeout
    }
    expect(spans).toBe(4);
    expect(Atomics.load(host.counters, TRACE_COUNTER.REPORTS_FAILED)).toBe(0);
    expect(connections).toBeGreaterThanOrEqual(2);
  });

  it('keeps the connection after an answer whose Content-Length body came whole, and not after one with bytes past it', async () => {
    let connections = 0;
    const answers: string[] = [];
    const { port } = await rawCollector((sock) => {
      connections++;
      let got = '';
      sock.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (!got.endsWith(']')) return; // the report's body is one JSON list (no ']' inside these spans)
        got = '';
        sock.write(answers.shift() ?? 'HTTP/1.1 500 x\r\ncontent-length: 0\r\n\r\n');
      });
    });
    const { host, reporter } = reporterTo(port);
    answers.push(
      'HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nok', // whole: kept
      'HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 500 stray\r\n\r\n', // bytes past the body: closed
      'HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n',
    );
    for (let report = 1; report <= 3; report++) {
      reporter.add(span(report));
      reporter.flush(false);
      await waitFor(`report ${report}`, () => Atomics.load(host.counters, TRACE_COUNTER.REPORTS_SENT) === report, 5000);
    }
    expect(connections).toBe(2);
    expect(Atomics.load(host.counters, TRACE_COUNTER.REPORTS_FAILED)).toBe(0);
    expect(Atomics.load(host.counters, TRACE_COUNTER.REPORTS_DROPPED)).toBe(0);
  });

  it('keeps the connection after a whole chunked answer, and not after one whose chunk size is not plain hex (0x0, 0zz)', async () => {
    let connections = 0;
    const held: net.Socket[] = [];
    const answers: string[] = [];
    const raw = net.createServer((sock) => {
      connections++;
      held.push(sock.on('error', () => {}));
      let got = '';
      sock.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        if (!got.endsWith(']')) return; // the report's body is one JSON list (no ']' inside these spans)
        got = '';
        sock.write(answers.shift() ?? 'HTTP/1.1 500 x\r\ncontent-length: 0\r\n\r\n');
      });
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    cleanup.push(() => {
      for (const h of held) h.destroy();
      raw.close();
    });
    const host = hostFor((raw.address() as net.AddressInfo).port);
    const reporter = new ZipkinReporter(host, provider);
    cleanup.push(() => reporter.close());
    answers.push(
      'HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', // whole: kept
      'HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n0x0\r\n\r\n', // not a chunk size: closed
      'HTTP/1.1 202 Accepted\r\ntransfer-encoding: chunked\r\n\r\n0zz\r\n\r\n', // trailing junk: closed
      'HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n',
    );
    for (let report = 1; report <= 4; report++) {
      reporter.add(span(report));
      reporter.flush(false);
      await waitFor(`report ${report}`, () => Atomics.load(host.counters, TRACE_COUNTER.REPORTS_SENT) === report, 5000);
    }
    expect(connections).toBe(3);
    expect(Atomics.load(host.counters, TRACE_COUNTER.REPORTS_FAILED)).toBe(0);
  });
});
