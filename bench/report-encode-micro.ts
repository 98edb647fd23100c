// What one request's Report entry costs the thread that serves requests, the
// old path beside the new, in one process (CPU time, steady on a shared
// machine where a load run's p99 is not):
// - objects + protobufjs (before): the bag's wire objects per request
//   (wireAttributes), then per batch of 100 the ReportRequest encoded by the
//   service's codec (proto-loader/protobufjs fromObject + encode, what
//   grpc-js's Report called on the agent: the data plane's own thread with
//   --workers 1);
// - wire bytes (now): the entry written as protobuf at once
//   (report-encoder.ts), the batch copied out framed once per 100.
// Per row: CPU ns per request (median of 5 rounds) and the CPU of a batch's
// send with its last entry (the event-loop block a batch costs), p99 over a
// round's flushes, median over rounds.
// Attributes: the bench report scenario's (bench/isthmus-target.ts) plus
// request.headers, the large one. Run: node dist/bench/report-encode-micro.js [requests]
import { mixerServiceDefinition } from '../src/xds/mixer-protos.js';
import { setPolicyTransport } from '../workers/filters/mixer/policy-transport.js';
import { MIXER_COUNTER_SLOTS } from '../workers/filters/mixer/mixer-counters.js';
import { ReportBatcher } from '../workers/filters/mixer/report-batcher.js';
import { ReportPlan } from '../workers/filters/mixer/report-encoder.js';
import { RequestAttributeBag, computedType, type AttributeSource } from '../workers/filters/mixer/request-attribute-bag.js';

const BATCH = 100;
const SCENARIO = ['request.method', 'request.path', 'request.time', 'response.code', 'response.duration', 'context.protocol'];
const WITH_HEADERS = [...SCENARIO, 'request.headers', 'source.ip'];

function source(i: number): AttributeSource {
  return {
    method: 'GET', path: `/items/${i & 1023}`, query: '', authority: 'bench',
    headers: ['host', 'bench', 'user-agent', 'isthmus-bench/1', 'accept', '*/*', 'x-request-id', `0f8fad5b-d9cb-469f-a165-${String(i).padStart(12, '0')}`],
    requestId: '', scheme: 'http', bytesReceived: 0, bytesSent: 1024, responseCode: 200, startMark: performance.now() - 0.3,
    conn: { remoteAddress: '127.0.0.1', remotePort: 40000 + (i & 63), peerUriSan: '', tlsVersion: '' },
  };
}

interface Row { readonly nsPerRequest: number; readonly flushUs: number }

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * 5 rounds of `n` requests; each request's bag made and responded, then `entry`; every BATCH-th request's entry and
 * `flush` (the batch's send) timed together in CPU µs: the row's flush figure is the 99th percentile of those (median
 * over rounds), the block a batch puts on the event loop.
 */
function measure(n: number, entry: (bag: RequestAttributeBag) => void, flush: () => void): Row {
  const listener = { statics: new Map(), destinationIp: '127.0.0.1', destinationPort: 15006 };
  const sources = Array.from({ length: 1024 }, (_, i) => source(i));
  const round = (): Row => {
    const flushes: number[] = [];
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const bag = new RequestAttributeBag(sources[i & 1023]!, listener);
      bag.responded = true;
      if ((i + 1) % BATCH !== 0) {
        entry(bag);
        continue;
      }
      const f0 = cpuUs();
      entry(bag);
      flush();
      flushes.push(cpuUs() - f0);
    }
    const used = process.cpuUsage(t0);
    flushes.sort((a, b) => a - b);
    return { nsPerRequest: ((used.user + used.system) * 1e3) / n, flushUs: flushes[Math.floor(flushes.length * 0.99)]! };
  };
  round(); // warm-up
  const rows = Array.from({ length: 5 }, round);
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[2]!;
  return { nsPerRequest: median(rows.map((r) => r.nsPerRequest)), flushUs: median(rows.map((r) => r.flushUs)) };
}

function objectsRow(n: number, names: readonly string[]): Row {
  const serialize = mixerServiceDefinition().Report!.requestSerialize;
  let batch: { attributes: object }[] = [];
  let bytes = 0;
  const row = measure(n, (bag) => batch.push({ attributes: bag.wireAttributes(names) }), () => {
    bytes += serialize({ attributes: batch }).length;
    batch = [];
  });
  if (bytes === 0) throw new Error('nothing encoded');
  return row;
}

function bytesRow(n: number, names: readonly string[]): Row {
  let bytes = 0;
  setPolicyTransport({ check: () => {}, report: (_t, b) => { bytes += b.length; } });
  // add() sends the batch itself at its BATCH-th entry: that entry's add is the timed flush.
  const batcher = new ReportBatcher('mixer', BATCH, 60_000);
  const plan = new ReportPlan(names, new Map(), computedType);
  const counters = new Int32Array(MIXER_COUNTER_SLOTS);
  const row = measure(n, (bag) => batcher.add(plan, bag, counters), () => {});
  if (bytes === 0) throw new Error('nothing encoded');
  return row;
}

const n = Number(process.argv[2] ?? 100_000);
for (const [label, names] of [['scenario attributes', SCENARIO], ['+ request.headers, source.ip', WITH_HEADERS]] as const) {
  const before = objectsRow(n, names);
  const now = bytesRow(n, names);
  console.log(`${label.padEnd(30)} objects + protobufjs: ${before.nsPerRequest.toFixed(0).padStart(6)} ns/request, flush p99 ${before.flushUs.toFixed(0).padStart(5)} µs | wire bytes: ${now.nsPerRequest.toFixed(0).padStart(6)} ns/request, flush p99 ${now.flushUs.toFixed(0).padStart(5)} µs | ratio ${(now.nsPerRequest / before.nsPerRequest).toFixed(2)}`);
}
console.log(`node ${process.version}, ${n} requests per round, batches of ${BATCH}, median of 5 rounds of CPU time (flush: the 100th entry and its batch's send, p99 over a round's flushes)`);
