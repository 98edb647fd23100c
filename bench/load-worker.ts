// One load-generator thread: `connections` keep-alive HTTP/1.1 clients on raw
// net sockets writing a prebuilt request and framing answers with
// ResponseFramer. Reads land in one reused buffer (net's `onread`), so the
// per-response cost is a state machine pass and one write. Closed loop ('max')
// or open loop ('fixed', latency from the intended send time). Bounded by the
// measured window (plus grace) and by maxRequests.
import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { createLatencyHistogram, encodeHistogram, recordLatencyMs } from './latency-histogram.js';
import type { LoadWorkerConfig, MainToWorker, WorkerToMain } from './load-protocol.js';
import { OpenLoopSchedule, openLoopLatencyMs } from './open-loop-schedule.js';
import { ResponseFramer } from './response-framer.js';

const config = workerData as LoadWorkerConfig;
const port = parentPort!;
const requestBytes = Buffer.from(config.request, 'latin1');
const readBuffer = Buffer.allocUnsafe(256 * 1024);
const histogram = createLatencyHistogram();
const MAX_RECONNECTS = 100 * config.connections;

let running = false;
let finished = false;
let warmEnd = Infinity;
let end = Infinity;
let completed = 0;
let errors = 0;
let sent = 0;
let reconnects = 0;
let maxSendLagMs = 0;
let schedule: OpenLoopSchedule | null = null;
let nextIndex = 0;
let timerPending = false;
let inFlight = 0;
const idle: LoadConnection[] = [];
/** Only ever waited on (never notified): Atomics.wait as a precise sub-millisecond sleep. */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const all: LoadConnection[] = [];

class LoadConnection {
  socket: Socket;
  framer = new ResponseFramer();
  connected = false;
  busy = false;
  /** Closed loop: actual send time; open loop: intended send time. */
  startedAt = 0;
  measured = false;
  private seenErrorResponses = 0;

  constructor() {
    this.socket = this.open();
  }

  private open(): Socket {
    this.framer = new ResponseFramer();
    this.seenErrorResponses = 0;
    const socket = connect({
      host: config.host,
      port: config.port,
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
    this.measured = measured;
    inFlight++;
    sent++;
    this.socket.write(requestBytes);
  }

  private readonly onConnect = (): void => {
    this.connected = true;
    onConnected(this);
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
    inFlight--;
    onResponse(this, bad > 0);
    return true;
  };

  private readonly onError = (err: Error): void => {
    lastError = err.message;
  };

  private readonly onClose = (): void => {
    if (finished) return;
    const wasConnected = this.connected;
    this.connected = false;
    const i = idle.indexOf(this);
    if (i >= 0) idle.splice(i, 1);
    const now = performance.now();
    const inWindow = now >= warmEnd && now < end;
    if (this.busy) {
      // A request lost with its connection: an error if it belonged to the measurement.
      this.busy = false;
      inFlight--;
      if (config.mode === 'fixed' ? this.measured : inWindow) errors++;
    } else if (!wasConnected && running && inWindow) {
      errors++; // a reconnect that failed
    }
    if (!wasConnected && !running) onConnectFailed();
    if (running && !finished && reconnects < MAX_RECONNECTS) {
      reconnects++;
      setTimeout(this.reopen, 10);
    }
  };

  private readonly reopen = (): void => {
    if (running && !finished) this.socket = this.open();
  };
}

let lastError = '';
let connectOutcomes = 0;
let connectFailures = 0;

function onConnected(conn: LoadConnection): void {
  if (!running) {
    idle.push(conn);
    connectOutcomes++;
    if (connectOutcomes === config.connections) reportConnected();
    return;
  }
  if (config.mode === 'max') {
    const now = performance.now();
    if (now < end && sent < config.maxRequests) conn.send(now, true);
  } else {
    idle.push(conn);
    pump();
  }
}

function onConnectFailed(): void {
  connectOutcomes++;
  connectFailures++;
  if (connectOutcomes === config.connections) reportConnected();
}

function reportConnected(): void {
  const message: WorkerToMain = { type: 'connected', failed: connectFailures, firstError: lastError };
  port.postMessage(message);
}

function onResponse(conn: LoadConnection, isError: boolean): void {
  const now = performance.now();
  if (config.mode === 'max') {
    if (now >= warmEnd && now < end) {
      recordLatencyMs(histogram, now - conn.startedAt);
      if (isError) errors++;
      else completed++;
    }
    if (running && now < end && sent < config.maxRequests) conn.send(now, true);
    return;
  }
  if (conn.measured) {
    recordLatencyMs(histogram, openLoopLatencyMs(conn.startedAt, now));
    if (isError) errors++;
    else completed++;
  }
  idle.push(conn);
  pump();
}

/** Open loop: sends every due request an idle connection can take, then waits for the next due time. */
function pump(): void {
  if (!running || schedule === null) return;
  for (;;) {
    const now = performance.now();
    const due = schedule.dueBy(now);
    while (nextIndex < due && idle.length > 0) {
      const conn = idle.pop()!;
      const intended = schedule.intendedAt(nextIndex++);
      const measured = intended >= warmEnd;
      if (measured && now - intended > maxSendLagMs) maxSendLagMs = now - intended;
      conn.send(intended, measured);
    }
    if (nextIndex >= schedule.total) {
      if (inFlight === 0) finish();
      return;
    }
    // Nothing idle: the next answer pumps again.
    if (nextIndex < due) return;
    const delay = schedule.intendedAt(nextIndex) - performance.now();
    if (delay <= 0) continue;
    // Timers are ms-coarse, and their lag would be charged to every latency. So with nothing
    // in flight (no answer can be kept waiting) a near send blocks this thread precisely;
    // otherwise the next answer pumps, and a timer covers an answer that is late.
    if (inFlight === 0 && delay <= 2) {
      Atomics.wait(sleepCell, 0, 0, delay);
      continue;
    }
    if (!timerPending) {
      timerPending = true;
      setTimeout(onPumpTimer, delay > 2 ? delay - 1.5 : delay);
    }
    return;
  }
}

function onPumpTimer(): void {
  timerPending = false;
  pump();
}

function start(): void {
  const t0 = performance.now();
  running = true;
  warmEnd = t0 + config.warmupMs;
  end = warmEnd + config.durationMs;
  if (config.mode === 'max') {
    while (idle.length > 0) {
      const conn = idle.pop()!;
      if (sent < config.maxRequests) conn.send(t0, true);
    }
    setTimeout(finish, end - t0);
  } else {
    schedule = new OpenLoopSchedule(t0, config.ratePerSec, config.warmupMs + config.durationMs, config.maxRequests);
    setTimeout(finish, config.warmupMs + config.durationMs + config.graceMs);
    pump();
  }
}

function finish(): void {
  if (finished) return;
  finished = true;
  running = false;
  if (config.mode === 'fixed' && schedule !== null) {
    // Planned but never sent (every connection stuck), or sent and never answered: both are failures the user must see.
    for (let i = nextIndex; i < schedule.total; i++) if (schedule.intendedAt(i) >= warmEnd) errors++;
    for (const conn of all) if (conn.busy && conn.measured) errors++;
  }
  for (const conn of all) conn.socket.destroy();
  const message: WorkerToMain = {
    type: 'done',
    result: { histogram: encodeHistogram(histogram), completed, errors, sent, maxSendLagMs },
  };
  port.postMessage(message);
  port.close();
}

port.on('message', (message: MainToWorker) => {
  if (message.type === 'start') start();
});

for (let i = 0; i < config.connections; i++) all.push(new LoadConnection());
