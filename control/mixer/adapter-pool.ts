// The adapter pool (DESIGN.md section 5): policy handlers run on piscina
// threads, never on the gRPC thread, so a slow or blocking adapter delays only
// the Checks whose rules call it.
//
// Each handler is pinned to one thread ("lane": a one-thread piscina pool) and
// keeps it across config reloads while its adapter and params stay the same.
// That is what keeps a stateful adapter right: memquota's counters live in its
// handler, so every Check for that handler must reach the same copy; a handler
// spread over threads would grant N times its limit. New handlers go to the
// lane holding the fewest, so with as many lanes as handlers each has its own.
//
// Handlers whose adapter declares them `inline` (pure, synchronous, bounded:
// the denier, an in-memory list) run on the gRPC thread instead
// (inline-handlers.ts): the hop to a thread cost more than they do.
//
// Backpressure: each lane's queue is bounded. A Check that finds its lane full
// fails fast (PoolFullError: the service answers UNAVAILABLE); a Report batch
// is dropped (and counted) already when the queue is half full, so reports
// never crowd out Checks.
import { Piscina } from 'piscina';
import { compiledSibling } from '../../src/process/compiled-path.js';
import type { Logger } from '../../src/log.js';
import type { CheckResult, InstanceValue, QuotaArgs, QuotaResult } from './adapter.js';
import type { HandlerSpec, PoolAnswer, PoolTask, PoolWorkerData } from './adapter-pool-protocol.js';
import { mergeMetricsTexts } from './adapters/metrics-text.js';
import { InlineHandlers, runsInline } from './inline-handlers.js';
import type { ReportRows } from './report-rows.js';

export type { HandlerSpec } from './adapter-pool-protocol.js';

export interface AdapterPoolOptions {
  /** Threads (lanes). Default 2. */
  readonly threads?: number;
  /** Tasks waiting per lane before Checks are refused. Default 1024. */
  readonly maxQueue?: number;
  /** Tasks one lane runs at once (async handlers overlap). Default 64. */
  readonly concurrentTasksPerThread?: number;
  /** How long a handler may take before its call answers UNAVAILABLE (the task still finishes in its thread). Default 2000 ms. */
  readonly handlerTimeoutMs?: number;
  readonly plugins?: readonly string[];
  readonly logLevel?: string;
  readonly log: Logger;
}

/** The pool could not take the call (its lane's queue is full, or it is closed). */
export class PoolFullError extends Error {
  override readonly name = 'PoolFullError';
}

/** A handler failed, timed out, or is not configured. */
export class HandlerCallError extends Error {
  override readonly name = 'HandlerCallError';
  constructor(message: string, readonly code: number) {
    super(message);
  }
}

const UNAVAILABLE = 14;
const INTERNAL = 13;

interface Lane {
  readonly pool: Piscina<PoolTask, PoolAnswer>;
  specs: HandlerSpec[];
}

export class AdapterPool {
  private readonly lanes: Lane[] = [];
  private readonly laneOf = new Map<string, Lane>();
  private readonly maxQueue: number;
  private readonly timeoutMs: number;
  private readonly log: Logger;
  private readonly inline: InlineHandlers;
  /** The pool threads' metrics texts as of the last refresh. */
  private poolMetrics: readonly string[] = [];
  private metricsPending = false;
  private closed = false;
  /** Report batches dropped because the pool was busy (the /metrics counter). */
  droppedReports = 0;

  constructor(private readonly options: AdapterPoolOptions) {
    this.maxQueue = options.maxQueue ?? 1024;
    this.timeoutMs = options.handlerTimeoutMs ?? 2000;
    this.log = options.log;
    this.inline = new InlineHandlers(options.log);
  }

  /** The threads start with the first handler: a control plane without policy runs none (and starts as fast as before). */
  private started(): Lane[] {
    if (this.lanes.length > 0) return this.lanes;
    const options = this.options;
    const workerData: PoolWorkerData = { plugins: options.plugins ?? [], logLevel: options.logLevel ?? 'info' };
    const filename = compiledSibling(import.meta.url, 'adapter-pool-worker.js');
    for (let i = 0; i < Math.max(1, options.threads ?? 2); i++) {
      this.lanes.push({
        pool: new Piscina<PoolTask, PoolAnswer>({
          filename, name: 'default', minThreads: 1, maxThreads: 1, idleTimeout: Number.MAX_SAFE_INTEGER,
          // Handlers keep timers and sockets (list refresh, statsd, fluentd): the thread's event loop must run between tasks.
          atomics: 'disabled',
          maxQueue: this.maxQueue, concurrentTasksPerWorker: options.concurrentTasksPerThread ?? 64, workerData,
          closeTimeout: 2000,
        }),
        specs: [],
      });
    }
    return this.lanes;
  }

  /** Tasks waiting in all lanes (the /metrics gauge). */
  queueSize(): number {
    let n = 0;
    for (const lane of this.lanes) n += lane.pool.queueSize;
    return n;
  }

  /** takes every handler of the new config; pins new ones to lanes and (re)creates changed ones. Resolves with the handlers that failed to start. */
  async configure(allSpecs: readonly HandlerSpec[]): Promise<{ name: string; error: string }[]> {
    const inlineFailures = this.inline.configure(allSpecs.filter(runsInline));
    const specs = allSpecs.filter((s) => !this.inline.has(s.name) && !inlineFailures.some((f) => f.name === s.name));
    if (specs.length > 0) this.started();
    const wanted = new Set(specs.map((s) => s.name));
    for (const name of [...this.laneOf.keys()]) if (!wanted.has(name)) this.laneOf.delete(name);
    for (const lane of this.lanes) lane.specs = [];
    const count = new Map<Lane, number>(this.lanes.map((l) => [l, 0]));
    for (const spec of specs) {
      const lane = this.laneOf.get(spec.name);
      if (lane !== undefined) count.set(lane, count.get(lane)! + 1);
    }
    for (const spec of specs) {
      let lane = this.laneOf.get(spec.name);
      if (lane === undefined) {
        lane = this.lanes.reduce((best, l) => (count.get(l)! < count.get(best)! ? l : best));
        count.set(lane, count.get(lane)! + 1);
        this.laneOf.set(spec.name, lane);
      }
      lane.specs.push(spec);
    }
    const answers = await Promise.all(this.lanes.map((lane) => this.configureLane(lane)));
    this.refreshMetricsSoon();
    return [...inlineFailures, ...answers.flat()];
  }

  private async configureLane(lane: Lane): Promise<{ name: string; error: string }[]> {
    const answer = await lane.pool.run({ op: 'configure', specs: lane.specs });
    return answer.kind === 'configured' ? [...answer.failures] : [];
  }

  /**
   * takes a handler and its check instances; returns its CheckResult at once for an inline handler, else a promise
   * of it. Throws (or rejects with) PoolFullError or HandlerCallError.
   */
  checkNow(handler: string, instances: readonly InstanceValue[]): CheckResult | Promise<CheckResult> {
    if (!this.inline.has(handler)) return this.check(handler, instances);
    try {
      return this.inline.check(handler, instances);
    } catch (err) {
      throw new HandlerCallError((err as Error).message, INTERNAL);
    }
  }

  /** takes a handler and its check instances; resolves with its CheckResult. Throws PoolFullError or HandlerCallError. */
  async check(handler: string, instances: readonly InstanceValue[]): Promise<CheckResult> {
    if (this.inline.has(handler)) return this.checkNow(handler, instances);
    const answer = await this.call(handler, { op: 'check', handler, instances });
    if (answer.kind !== 'check') throw this.failure(handler, answer);
    return answer.result;
  }

  async quota(handler: string, instance: InstanceValue, args: QuotaArgs): Promise<QuotaResult> {
    if (this.inline.has(handler)) {
      try {
        return this.inline.quota(handler, instance, args);
      } catch (err) {
        throw new HandlerCallError((err as Error).message, INTERNAL);
      }
    }
    const answer = await this.call(handler, { op: 'quota', handler, instance, args });
    if (answer.kind !== 'quota') throw this.failure(handler, answer);
    return answer.result;
  }

  /** Whether a handler runs on this thread (its report takes instances) rather than on a lane (it takes rows: reportRows). */
  isInline(handler: string): boolean {
    return this.inline.has(handler);
  }

  /** takes a handler and a batch of report instances; returns false (and counts a drop) when its lane is too busy. Never waits. */
  report(handler: string, instances: readonly InstanceValue[]): boolean {
    if (this.inline.has(handler)) {
      if (this.closed) return false;
      this.inline.report(handler, instances);
      return true;
    }
    return this.reportOnLane(handler, { op: 'report', handler, instances });
  }

  /** report() for a handler on a lane, its batch packed as rows (report-rows.ts). Returns false (a drop is counted) when the lane is too busy. */
  reportRows(handler: string, batch: ReportRows): boolean {
    return this.reportOnLane(handler, { op: 'reportRows', handler, batch: { shapes: batch.shapes, rows: batch.rows } });
  }

  private reportOnLane(handler: string, task: PoolTask): boolean {
    const lane = this.laneOf.get(handler);
    if (this.closed || lane === undefined || lane.pool.queueSize >= this.maxQueue / 2) {
      this.droppedReports++;
      return false;
    }
    this.call(handler, task).then(
      (answer) => {
        if (answer.kind === 'error') this.log.warn({ handler, err: answer.error }, 'policy report handler failed');
        this.refreshMetricsSoon();
      },
      () => {
        this.droppedReports++;
      },
    );
    return true;
  }

  /**
   * The handlers' Prometheus text: inline handlers' as of now, pool threads' as of the last refresh (the admin API's
   * /metrics is synchronous). Inline text is made only when asked for, not after every Report.
   */
  metricsText(): string {
    this.refreshMetricsSoon();
    return mergeMetricsTexts([...this.inline.metricsTexts(), ...this.poolMetrics]);
  }

  /** Resolves once the handlers' metrics text is fresh (tests, and /metrics right after a report). */
  async refreshMetrics(): Promise<string> {
    const answers = await Promise.all(this.lanes.map((lane) => lane.pool.run({ op: 'metrics' }).catch(() => null)));
    this.poolMetrics = answers.map((a) => (a?.kind === 'metrics' ? a.text : ''));
    return mergeMetricsTexts([...this.inline.metricsTexts(), ...this.poolMetrics]);
  }

  private refreshMetricsSoon(): void {
    if (this.metricsPending || this.closed || this.lanes.length === 0) return;
    this.metricsPending = true;
    setTimeout(() => {
      void this.refreshMetrics().finally(() => {
        this.metricsPending = false;
      });
    }, 50).unref();
  }

  private async call(handler: string, task: PoolTask): Promise<PoolAnswer> {
    const lane = this.laneOf.get(handler);
    if (lane === undefined) throw new HandlerCallError(`handler ${handler} is not configured`, INTERNAL);
    let answer = await this.run(lane, task, handler);
    if (answer.kind === 'missing') {
      // The lane's thread was restarted (an adapter crashed it): give it its handlers again, once.
      await this.configureLane(lane);
      answer = await this.run(lane, task, handler);
    }
    return answer;
  }

  private run(lane: Lane, task: PoolTask, handler: string): Promise<PoolAnswer> {
    if (this.closed || lane.pool.queueSize >= this.maxQueue) return Promise.reject(new PoolFullError(`the adapter pool is full (handler ${handler})`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new HandlerCallError(`handler ${handler} did not answer within ${this.timeoutMs} ms`, UNAVAILABLE)), this.timeoutMs);
      lane.pool.run(task).then(
        (answer) => {
          clearTimeout(timer);
          resolve(answer);
        },
        (err: Error) => {
          clearTimeout(timer);
          reject(err.message === 'Task queue is at limit' ? new PoolFullError(`the adapter pool is full (handler ${handler})`) : new HandlerCallError(`handler ${handler}: ${err.message}`, INTERNAL));
        },
      );
    });
  }

  private failure(handler: string, answer: PoolAnswer): HandlerCallError {
    if (answer.kind === 'error') return new HandlerCallError(`handler ${handler} failed: ${answer.error}`, INTERNAL);
    return new HandlerCallError(`handler ${handler} is not configured`, INTERNAL);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.inline.close();
    await Promise.all(this.lanes.map((lane) => lane.pool.run({ op: 'configure', specs: [] }).catch(() => undefined)));
    await Promise.all(this.lanes.map((lane) => lane.pool.close({ force: true }).catch(() => undefined)));
  }
}
