// One load-generator thread, run as a piscina task: `connections` keep-alive
// HTTP/1.1 clients on raw net sockets writing a prebuilt request, one request
// in flight per connection (no pipelining, as wrk). Closed loop ('max') runs in
// C++ on the connected sockets (native/load_loop.cc: no Node callback per
// answer, so the client outpaces what it measures); open loop ('fixed', latency
// from the intended send time) runs here, reads landing in one reused buffer
// (net's `onread`) and framed by ResponseFramer. The task opens
// its connections, reports 'connected' on its port and waits for 'start', so
// every thread starts together after connecting. Bounded by the measured
// window (plus grace) and by maxRequests.
import { connect, type Socket } from 'node:net';
import type { MessagePort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { createLatencyHistogram, encodeHistogram, recordLatencyMs, type Histogram } from './latency-histogram.js';
import type { LoadTask, LoadWorkerConfig, LoadWorkerResult, MainToWorker, WorkerToMain } from './load-protocol.js';
import { OpenLoopSchedule, openLoopLatencyMs } from './open-loop-schedule.js';
import { WakeAt } from './wake-at.js';
import { OpenLoopStats } from './open-loop-stats.js';
import { runClosedLoop } from '../src/native.js';
import { ResponseFramer } from './response-framer.js';

/** One read buffer per thread: a task runs alone on its thread and reads complete synchronously. */
const readBuffer = Buffer.allocUnsafe(256 * 1024);
/** Latency slots the native loop gets per second of measurement (more answers are counted, not timed). */
const NATIVE_MAX_RATE = 500_000;
/** Only ever waited on (never notified): Atomics.wait as a precise sub-millisecond sleep. */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
/**
 * The waking thread looks this long after a send is due: when this thread times the send itself (its answers
 * all in), the two then do not wake at the same instant on a 2-core machine; when an answer is pending, the
 * send leaves this much late (charged to it), where a setTimeout left it up to a millisecond or more late.
 */
const WAKER_GRACE_MS = 0.1;

class LoadConnection {
  socket: Socket;
  framer = new ResponseFramer();
  connected = false;
  busy = false;
  /** The intended send time (open loop: latency counts from it). */
  startedAt = 0;
  /** When it was actually written (open loop: how late against startedAt). */
  sentAt = 0;
  measured = false;
  /** Per-connection pacing: the next request index (of the whole schedule) this connection owns. */
  nextSeq = 0;
  /** The connected socket's descriptor (for the native closed loop); -1 when Node does not expose it. */
  fd = -1;
  private seenErrorResponses = 0;

  constructor(private readonly run: LoadRun, index: number) {
    this.nextSeq = index;
    this.socket = this.open();
  }

  private open(): Socket {
    this.fd = -1;
    this.framer = new ResponseFramer();
    this.seenErrorResponses = 0;
    const socket = connect({
      host: this.run.config.host,
      port: this.run.config.port,
      noDelay: true,
      onread: { buffer: readBuffer, callback: this.onRead },
    });
    socket.on('connect', this.onConnect);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    return socket;
  }

  send(startedAt: number, measured: boolean): void {
    this.busy = true;
    this.startedAt = startedAt;
    this.sentAt = performance.now();
    this.measured = measured;
    this.run.inFlight++;
    this.run.sent++;
    this.socket.write(this.run.requestBytes);
  }

  private readonly onConnect = (): void => {
    this.connected = true;
    const fd = (this.socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
    this.fd = typeof fd === 'number' ? fd : -1;
    this.run.onConnected(this);
  };

  /** Returns true to keep reading (net's onread contract). */
  private readonly onRead = (nread: number, buf: Uint8Array): boolean => {
    const done = this.framer.feed(buf, 0, nread);
    if (this.framer.malformed) {
      this.socket.destroy();
      return false;
    }
    if (done === 0 || !this.busy) return true;
    const bad = this.framer.errorResponses - this.seenErrorResponses;
    this.seenErrorResponses = this.framer.errorResponses;
    this.busy = false;
    this.run.inFlight--;
    this.run.onResponse(this, bad > 0);
    return true;
  };

  private readonly onError = (err: Error): void => {
    this.run.lastError = err.message;
  };

  private readonly onClose = (): void => {
    const run = this.run;
    if (run.finished) return;
    const wasConnected = this.connected;
    this.connected = false;
    const i = run.idle.indexOf(this);
    if (i >= 0) run.idle.splice(i, 1);
    const now = performance.now();
    const inWindow = now >= run.warmEnd && now < run.end;
    if (this.busy) {
      // A request lost with its connection: an error if it belonged to the measurement.
      this.busy = false;
      run.inFlight--;
      if (this.measured) run.errors++;
    } else if (!wasConnected && run.running && inWindow) {
      run.errors++; // a reconnect that failed
    }
    if (!wasConnected && !run.running) run.onConnectFailed();
    if (run.running && !run.finished && run.reconnects < run.maxReconnects) {
      run.reconnects++;
      setTimeout(this.reopen, 10);
    }
  };

  private readonly reopen = (): void => {
    if (this.run.running && !this.run.finished) this.socket = this.open();
  };
}

/** The state of one task: its connections, counters and histogram. */
class LoadRun {
  readonly requestBytes: Buffer;
  readonly histogram: Histogram = createLatencyHistogram();
  readonly maxReconnects: number;
  readonly idle: LoadConnection[] = [];
  readonly all: LoadConnection[] = [];
  running = false;
  finished = false;
  warmEnd = Infinity;
  end = Infinity;
  completed = 0;
  errors = 0;
  sent = 0;
  inFlight = 0;
  reconnects = 0;
  lastError = '';
  private maxSendLagMs = 0;
  private readonly stats: OpenLoopStats;
  private pacer: WakeAt | null = null;
  private schedule: OpenLoopSchedule | null = null;
  private nextIndex = 0;
  private timerPending = false;
  private connectOutcomes = 0;
  private connectFailures = 0;
  private resolveDone: (result: LoadWorkerResult) => void = () => {};
  readonly done = new Promise<LoadWorkerResult>((resolve) => {
    this.resolveDone = resolve;
  });

  constructor(readonly config: LoadWorkerConfig, private readonly port: MessagePort) {
    this.requestBytes = Buffer.from(config.request, 'latin1');
    this.maxReconnects = 100 * config.connections;
    this.stats = new OpenLoopStats(config.slowMs ?? Infinity);
    // Started while the connections open: a thread takes tens of ms to start, which at the first sends would
    // leave them late and in bursts.
    if (config.mode === 'fixed' && config.pacing === 'per-connection') this.pacer = new WakeAt(this.onPacerDue);
    port.on('message', (message: MainToWorker) => {
      if (message.type === 'start') this.start();
      else if (message.type === 'abort') this.finish();
    });
    for (let i = 0; i < config.connections; i++) this.all.push(new LoadConnection(this, i));
  }

  onConnected(conn: LoadConnection): void {
    if (!this.running) {
      this.idle.push(conn);
      if (++this.connectOutcomes === this.config.connections) this.reportConnected();
      return;
    }
    // Only the open loop runs on Node's event loop (and reconnects); the closed loop is native.
    if (this.pacer !== null) {
      this.pumpPerConnection();
      return;
    }
    this.idle.push(conn);
    this.pump();
  }

  onConnectFailed(): void {
    this.connectFailures++;
    if (++this.connectOutcomes === this.config.connections) this.reportConnected();
  }

  private reportConnected(): void {
    const message: WorkerToMain = { type: 'connected', failed: this.connectFailures, firstError: this.lastError };
    // The waking thread must be up before the first send (it starts while the connections open).
    if (this.pacer === null) this.port.postMessage(message);
    else void this.pacer.ready.then(() => this.port.postMessage(message));
  }

  onResponse(conn: LoadConnection, isError: boolean): void {
    const now = performance.now();
    if (conn.measured) {
      const latency = openLoopLatencyMs(conn.startedAt, now);
      recordLatencyMs(this.histogram, latency);
      this.stats.answered(conn.startedAt, latency, conn.sentAt - conn.startedAt);
      if (isError) this.errors++;
      else this.completed++;
    }
    if (this.pacer !== null) {
      this.pumpPerConnection();
      return;
    }
    this.idle.push(conn);
    this.pump();
  }

  /**
   * Per-connection pacing, as fortio paces with -uniform: connection k of C owns requests k, k+C, k+2C, ...
   * of the one evenly spaced plan, so each connection has its own schedule at rate/C, offset from the others.
   * A connection still busy when its next request is due sends it as soon as it is answered (fortio's
   * catch-up), timed from the intended time all the same. With nothing in flight this thread sleeps to the
   * next send itself; with answers pending it returns to its loop and a waking thread (wake-at.ts) is armed
   * for the next send, so a late answer on one connection does not hold back the others' sends.
   */
  private pumpPerConnection(): void {
    const schedule = this.schedule;
    if (!this.running || schedule === null) return;
    const step = this.all.length;
    for (;;) {
      const now = performance.now();
      let sentNow = 0;
      let nextDue = Infinity;
      let remaining = false;
      for (const conn of this.all) {
        if (conn.nextSeq >= schedule.total) continue;
        remaining = true;
        // A connection being reopened pumps again once connected (onConnected).
        if (!conn.connected) continue;
        const intended = schedule.intendedAt(conn.nextSeq);
        if (conn.busy || intended > now) {
          if (intended < nextDue) nextDue = intended;
          continue;
        }
        conn.nextSeq += step;
        this.sendAt(conn, intended, now);
        sentNow++;
        if (conn.nextSeq < schedule.total) nextDue = Math.min(nextDue, schedule.intendedAt(conn.nextSeq));
      }
      if (sentNow > 0) this.stats.burst(sentNow);
      if (!remaining) {
        if (this.inFlight === 0) this.finish();
        return;
      }
      // With nothing in flight no answer can be kept waiting, so a near send blocks this thread precisely
      // (one wake-up instead of the pacing thread's two); otherwise the pacing thread or an answer wakes us.
      const delay = nextDue - performance.now();
      if (this.inFlight !== 0 || !(delay <= 2)) {
        if (nextDue !== Infinity) this.pacer!.arm(nextDue + WAKER_GRACE_MS);
        return;
      }
      this.pacer!.disarm();
      if (delay > 0) Atomics.wait(sleepCell, 0, 0, delay);
    }
  }

  private readonly onPacerDue = (): void => {
    this.pumpPerConnection();
  };

  private sendAt(conn: LoadConnection, intended: number, now: number): void {
    const measured = intended >= this.warmEnd;
    if (measured) {
      if (now - intended > this.maxSendLagMs) this.maxSendLagMs = now - intended;
      this.stats.sent(now - intended);
    }
    conn.send(intended, measured);
  }

  /** Open loop: sends every due request an idle connection can take, then waits for the next due time. */
  private pump(): void {
    const schedule = this.schedule;
    if (!this.running || schedule === null) return;
    for (;;) {
      const now = performance.now();
      const due = schedule.dueBy(now);
      let sentNow = 0;
      while (this.nextIndex < due && this.idle.length > 0) {
        this.sendAt(this.idle.pop()!, schedule.intendedAt(this.nextIndex++), now);
        sentNow++;
      }
      if (sentNow > 0) this.stats.burst(sentNow);
      if (this.nextIndex >= schedule.total) {
        if (this.inFlight === 0) this.finish();
        return;
      }
      // Nothing idle: the next answer pumps again.
      if (this.nextIndex < due) return;
      const delay = schedule.intendedAt(this.nextIndex) - performance.now();
      if (delay <= 0) continue;
      // Timers are ms-coarse, and their lag would be charged to every latency. So with nothing
      // in flight (no answer can be kept waiting) a near send blocks this thread precisely;
      // otherwise the next answer pumps, and a timer covers an answer that is late.
      if (this.inFlight === 0 && delay <= 2) {
        Atomics.wait(sleepCell, 0, 0, delay);
        continue;
      }
      if (!this.timerPending) {
        this.timerPending = true;
        setTimeout(this.onPumpTimer, delay > 2 ? delay - 1.5 : delay);
      }
      return;
    }
  }

  private readonly onPumpTimer = (): void => {
    this.timerPending = false;
    this.pump();
  };

  private start(): void {
    const t0 = performance.now();
    const config = this.config;
    this.running = true;
    this.warmEnd = t0 + config.warmupMs;
    this.end = this.warmEnd + config.durationMs;
    if (config.mode === 'max') {
      this.runNative();
    } else {
      this.schedule = new OpenLoopSchedule(t0, config.ratePerSec, config.warmupMs + config.durationMs, config.maxRequests);
      setTimeout(() => this.finish(), config.warmupMs + config.durationMs + config.graceMs);
      if (this.pacer !== null) {
        this.pumpPerConnection();
      } else {
        this.pump();
      }
    }
  }

  /**
   * Closed loop in C++ on the connected sockets (native/load_loop.cc): the same loop without
   * Node's per-read callback, so the client stays ahead of what it measures (the bar:
   * at least wrk's req/s). Blocks this thread for the run; connections that failed to open are
   * already counted, so it runs with those that did (none: it just waits out the run).
   */
  private runNative(): void {
    const conns = this.idle.splice(0);
    if (conns.some((c) => c.fd < 0)) throw new Error('load generator: a connected socket has no file descriptor (Linux only)');
    for (const c of conns) c.socket.pause();
    const config = this.config;
    const capacity = Math.min(config.maxRequests, Math.ceil((config.durationMs / 1000) * NATIVE_MAX_RATE) + 1024);
    const latencies = new Float64Array(capacity);
    const counters = new Float64Array(4);
    runClosedLoop(Int32Array.from(conns, (c) => c.fd), this.requestBytes, config.warmupMs, config.durationMs, config.maxRequests, latencies, counters);
    const recorded = counters[3]!;
    for (let i = 0; i < recorded; i++) recordLatencyMs(this.histogram, latencies[i]!);
    this.completed += counters[0]!;
    this.errors += counters[1]!;
    this.sent += counters[2]!;
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.running = false;
    const schedule = this.schedule;
    if (this.config.mode === 'fixed' && schedule !== null) {
      // Planned but never sent (every connection stuck), or sent and never answered: both are failures the user must see.
      if (this.pacer !== null) {
        for (const conn of this.all) for (let i = conn.nextSeq; i < schedule.total; i += this.all.length) if (schedule.intendedAt(i) >= this.warmEnd) this.errors++;
      } else {
        for (let i = this.nextIndex; i < schedule.total; i++) if (schedule.intendedAt(i) >= this.warmEnd) this.errors++;
      }
      for (const conn of this.all) if (conn.busy && conn.measured) this.errors++;
    }
    void this.pacer?.stop();
    for (const conn of this.all) conn.socket.destroy();
    const result: LoadWorkerResult = {
      histogram: encodeHistogram(this.histogram),
      completed: this.completed,
      errors: this.errors,
      sent: this.sent,
      maxSendLagMs: this.maxSendLagMs,
      openLoop: this.stats.counts(),
    };
    this.histogram.destroy();
    this.port.close();
    this.resolveDone(result);
  }
}

/** The piscina task: resolves with this thread's counters and encoded histogram once its load is done. */
export default function runLoadTask(task: LoadTask): Promise<LoadWorkerResult> {
  return new LoadRun(task.config, task.port).done;
}
