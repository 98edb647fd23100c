// Istio's `fluentd` adapter: logentry instances sent to a Fluentd daemon over
// TCP in the forward protocol (PackedForward messages, one per tag; the tag is
// the instance's name unless its variables hold a string `tag`). Entries wait
// in a queue of at most instanceBufferSize (past it new entries are dropped
// and counted) and are pushed every pushIntervalDuration, or sooner once
// maxBatchSizeBytes are queued. The connection is made on demand and remade
// after the daemon goes away: entries that could not be sent because no
// connection could be made go back to the queue (if it has room); a write that
// fails or exceeds pushTimeoutDuration drops its batch (counted), as Istio does.
import { connect, type Socket } from 'node:net';
import type { Adapter, AdapterHandler, HandlerContext, InstanceValue } from '../adapter.js';
import { formatDurationMs, readBool, readDurationMs, readHostPort, readNumber, readObject } from './adapter-params.js';
import { encodeEntry, encodePackedForward } from './fluentd-forward.js';
import { fieldMap, jsonValue, valueString } from './instance-fields.js';
import { escapeLabelValue } from './prometheus.js';

export interface FluentdParams {
  readonly host: string;
  readonly port: number;
  readonly integerDuration: boolean;
  readonly instanceBufferSize: number;
  readonly maxBatchSizeBytes: number;
  readonly pushIntervalMs: number;
  readonly pushTimeoutMs: number;
}

export function parseFluentdParams(raw: unknown): FluentdParams {
  const p = readObject(raw, '', ['address', 'integerDuration', 'instanceBufferSize', 'maxBatchSizeBytes', 'pushIntervalDuration', 'pushTimeoutDuration']);
  const { host, port } = readHostPort(p, 'address', '', 'localhost:24224');
  return {
    host,
    port,
    integerDuration: readBool(p, 'integerDuration', '', false),
    instanceBufferSize: readNumber(p, 'instanceBufferSize', '', 1024, { min: 1, max: 1_000_000, integer: true }),
    maxBatchSizeBytes: readNumber(p, 'maxBatchSizeBytes', '', 8 * 1024 * 1024, { min: 1024, max: 64 * 1024 * 1024, integer: true }),
    pushIntervalMs: readDurationMs(p, 'pushIntervalDuration', '', 10_000, 1),
    pushTimeoutMs: readDurationMs(p, 'pushTimeoutDuration', '', 60_000, 1),
  };
}

/** Besides instanceBufferSize entries, the queue holds at most this many batches' worth of bytes (entries may be large). */
const MAX_QUEUED_BATCHES = 4;

interface QueuedEntry {
  readonly tag: string;
  readonly bytes: Uint8Array;
}

class FluentdHandler implements AdapterHandler {
  private queue: QueuedEntry[] = [];
  private queuedBytes = 0;
  private socket: Socket | null = null;
  private pushing = false;
  private closed = false;
  private unreachable = false;
  private readonly timer: NodeJS.Timeout;
  /** Entries dropped: queue full, or their batch's write failed. */
  dropped = 0;
  /** Entries written to a connection. */
  sent = 0;

  constructor(private readonly params: FluentdParams, private readonly context: HandlerContext) {
    this.timer = setInterval(() => void this.push(), params.pushIntervalMs).unref();
  }

  report(instances: readonly InstanceValue[]): void {
    for (const instance of instances) {
      if (instance.template !== 'logentry') continue;
      if (this.queue.length >= this.params.instanceBufferSize || this.queuedBytes >= MAX_QUEUED_BATCHES * this.params.maxBatchSizeBytes) {
        this.dropped++;
        continue;
      }
      const { tag, record } = this.toRecord(instance);
      const timestamp = instance.fields.timestamp;
      const bytes = encodeEntry(typeof timestamp === 'number' ? timestamp : Date.now(), record);
      this.queue.push({ tag, bytes });
      this.queuedBytes += bytes.length;
    }
    if (this.queuedBytes >= this.params.maxBatchSizeBytes) void this.push();
  }

  private toRecord(instance: InstanceValue): { tag: string; record: Record<string, unknown> } {
    let tag = instance.name;
    const record: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(fieldMap(instance, 'variables'))) {
      if (name === 'tag' && typeof value === 'string' && value !== '') {
        tag = value;
        continue;
      }
      const type = instance.valueTypes?.[`variables.${name}`];
      if (type === 'DURATION' && typeof value === 'number') record[name] = this.params.integerDuration ? Math.round(value) : formatDurationMs(value);
      else if (type === 'TIMESTAMP' && typeof value === 'number') record[name] = new Date(value).toISOString();
      else record[name] = jsonValue(value);
    }
    const severity = valueString(instance.fields.severity);
    if (severity !== '') record.severity = severity;
    return { tag, record };
  }

  /** Sends up to maxBatchSizeBytes of the queue (one message per tag); the timer and a full batch call it. */
  async push(): Promise<void> {
    if (this.pushing || this.queue.length === 0) return;
    this.pushing = true;
    const batch = this.takeBatch();
    try {
      let socket: Socket;
      try {
        socket = await this.connection();
      } catch (err) {
        this.requeue(batch);
        // one warning per outage, not one per push interval
        if (!this.unreachable) this.context.log.warn({ handler: this.context.handlerName, err: (err as Error).message }, 'fluentd: cannot connect; entries kept for the next push');
        this.unreachable = true;
        return;
      }
      if (this.unreachable) this.context.log.info({ handler: this.context.handlerName }, 'fluentd: connected again');
      this.unreachable = false;
      try {
        await this.write(socket, batch);
        this.sent += batch.length;
      } catch (err) {
        this.dropped += batch.length;
        socket.destroy();
        this.context.log.warn({ handler: this.context.handlerName, err: (err as Error).message, dropped: batch.length }, 'fluentd: push failed; batch dropped');
      }
    } finally {
      this.pushing = false;
    }
    if (this.queuedBytes >= this.params.maxBatchSizeBytes && !this.closed) setImmediate(() => void this.push());
  }

  private takeBatch(): QueuedEntry[] {
    let size = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || size + this.queue[n].bytes.length <= this.params.maxBatchSizeBytes)) size += this.queue[n++].bytes.length;
    const batch = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    this.queuedBytes -= size;
    return batch;
  }

  /** Puts a batch that was never written back at the front of the queue, as far as the bound allows. */
  private requeue(batch: QueuedEntry[]): void {
    const room = Math.max(0, this.params.instanceBufferSize - this.queue.length);
    const kept = batch.slice(0, room);
    this.dropped += batch.length - kept.length;
    this.queue = kept.concat(this.queue);
    for (const entry of kept) this.queuedBytes += entry.bytes.length;
  }

  private connection(): Promise<Socket> {
    const current = this.socket;
    if (current !== null && !current.destroyed && current.writable) return Promise.resolve(current);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.params.host, port: this.params.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${this.params.host}:${this.params.port} timed out`)), this.params.pushTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        this.socket = socket;
        resolve(socket);
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.on('close', () => {
        if (this.socket === socket) this.socket = null;
      });
      // Fluentd sends nothing without the ack option; read and discard whatever arrives
      socket.on('data', () => {});
      socket.on('end', () => socket.destroy());
    });
  }

  private write(socket: Socket, batch: readonly QueuedEntry[]): Promise<void> {
    const byTag = new Map<string, Uint8Array[]>();
    for (const entry of batch) {
      const list = byTag.get(entry.tag) ?? [];
      list.push(entry.bytes);
      byTag.set(entry.tag, list);
    }
    const payload = Buffer.concat([...byTag].map(([tag, entries]) => encodePackedForward(tag, entries)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`push did not complete within ${this.params.pushTimeoutMs}ms`)), this.params.pushTimeoutMs);
      socket.write(payload, (err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  get queuedEntries(): number {
    return this.queue.length;
  }

  metricsText(): string {
    const handler = `{handler="${escapeLabelValue(this.context.handlerName)}"}`;
    return [
      '# HELP isthmus_mixer_fluentd_sent_entries_total Log entries written to the Fluentd connection.',
      '# TYPE isthmus_mixer_fluentd_sent_entries_total counter',
      `isthmus_mixer_fluentd_sent_entries_total${handler} ${this.sent}`,
      '# HELP isthmus_mixer_fluentd_dropped_entries_total Log entries dropped: buffer full, or their batch failed to write.',
      '# TYPE isthmus_mixer_fluentd_dropped_entries_total counter',
      `isthmus_mixer_fluentd_dropped_entries_total${handler} ${this.dropped}`,
      '',
    ].join('\n');
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.push().catch(() => {});
    this.socket?.end();
    this.socket = null;
  }
}

/** Takes validated params and a context; returns a fluentd handler. */
export function createFluentdHandler(params: FluentdParams, context: HandlerContext): AdapterHandler {
  return new FluentdHandler(params, context);
}

export const fluentdAdapter: Adapter = {
  name: 'fluentd',
  templates: ['logentry'],
  parseParams: parseFluentdParams,
  createHandler: (params, context) => createFluentdHandler(params as FluentdParams, context),
};
