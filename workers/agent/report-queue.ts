// The agent's Report queues, one per policy server: the batches workers hand
// over (gRPC-framed ReportRequests, report-batcher.ts) go out at most
// REPORT_IN_FLIGHT calls at a time with at most REPORT_QUEUED waiting; beyond
// that, or when a call fails, a batch is dropped and counted: traffic never
// waits for Report. Batches that wait are joined into one call within
// MAX_REPORT_BATCH_BYTES and MAX_REPORT_ENTRIES (a ReportRequest's repeated
// entries concatenate), so a server that falls behind gets fewer, larger
// calls instead of more. How a call is made is the policy client's
// (policy-client.ts: the HTTP/2 connection its Checks use).
import { MIXER_COUNTER } from '../filters/mixer/mixer-counters.js';
import { GRPC_PREFIX_BYTES, MAX_REPORT_BATCH_BYTES } from '../filters/mixer/report-encoder.js';

export const REPORT_IN_FLIGHT = 2;
export const REPORT_QUEUED = 8;
/** Attribute sets in one Report: the control plane refuses more (mixer-service.ts MAX_REPORT_BATCH). */
export const MAX_REPORT_ENTRIES = 10_000;

/** Sends one framed ReportRequest to `target`; calls done once, true when the server took it. */
export type SendReport = (target: string, framed: Buffer, done: (sent: boolean) => void) => void;

interface QueuedReport {
  /** A gRPC-framed ReportRequest, at most MAX_REPORT_BATCH_BYTES + its prefix. */
  readonly bytes: Buffer;
  readonly entries: number;
}

interface Queue {
  inFlight: number;
  readonly waiting: QueuedReport[];
}

export class ReportQueues {
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly counters: Int32Array,
    private readonly send: SendReport,
  ) {}

  /** Queues a worker's batch for `target` (dropped and counted when it is not one framed message, or the queue is full). */
  add(target: string, batch: Uint8Array, entries: number): void {
    // From a worker thread: its transferred bytes. Anything but one whole framed message under the bound is dropped.
    const n = batch instanceof Uint8Array ? batch.byteLength : -1;
    if (n < GRPC_PREFIX_BYTES || n > GRPC_PREFIX_BYTES + MAX_REPORT_BATCH_BYTES || !(entries > 0) || entries > MAX_REPORT_ENTRIES || batch[0] !== 0
      || ((batch[1]! << 24) | (batch[2]! << 16) | (batch[3]! << 8) | batch[4]!) >>> 0 !== n - GRPC_PREFIX_BYTES) {
      Atomics.add(this.counters, MIXER_COUNTER.REPORT_BATCHES_DROPPED, 1);
      return;
    }
    let queue = this.queues.get(target);
    if (queue === undefined) this.queues.set(target, (queue = { inFlight: 0, waiting: [] }));
    if (queue.waiting.length >= REPORT_QUEUED) {
      Atomics.add(this.counters, MIXER_COUNTER.REPORT_BATCHES_DROPPED, 1);
      return;
    }
    queue.waiting.push({ bytes: Buffer.isBuffer(batch) ? batch : Buffer.from(batch.buffer, batch.byteOffset, n), entries });
    this.pump(target, queue);
  }

  private pump(target: string, queue: Queue): void {
    while (queue.inFlight < REPORT_IN_FLIGHT && queue.waiting.length > 0) {
      const { bytes, batches } = takeReports(queue.waiting);
      queue.inFlight++;
      this.send(target, bytes, (sent) => {
        queue.inFlight--;
        // Counted as the workers handed them: a joined call counts each of its batches.
        Atomics.add(this.counters, sent ? MIXER_COUNTER.REPORT_BATCHES_SENT : MIXER_COUNTER.REPORT_BATCHES_DROPPED, batches);
        this.pump(target, queue);
      });
    }
  }
}

/** The next call's bytes: the first waiting batch, joined with those behind it while the whole stays within the bounds. */
function takeReports(waiting: QueuedReport[]): { bytes: Buffer; batches: number } {
  const first = waiting.shift()!;
  let bytes = first.bytes.length;
  let entries = first.entries;
  let n = 0;
  while (n < waiting.length) {
    const next = waiting[n]!;
    if (bytes + next.bytes.length - GRPC_PREFIX_BYTES > GRPC_PREFIX_BYTES + MAX_REPORT_BATCH_BYTES || entries + next.entries > MAX_REPORT_ENTRIES) break;
    bytes += next.bytes.length - GRPC_PREFIX_BYTES;
    entries += next.entries;
    n++;
  }
  if (n === 0) return { bytes: first.bytes, batches: 1 };
  const joined = Buffer.allocUnsafe(bytes);
  let at = first.bytes.copy(joined, 0);
  for (const b of waiting.splice(0, n)) at += b.bytes.copy(joined, at, GRPC_PREFIX_BYTES);
  joined[0] = 0;
  joined.writeUInt32BE(bytes - GRPC_PREFIX_BYTES, 1);
  return { bytes: joined, batches: n + 1 };
}
