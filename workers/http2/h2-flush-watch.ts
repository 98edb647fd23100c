// The zero-window stall defence: a stream whose response is waiting on the
// client (its window shut, or the client not reading) must not hold the
// proxy's buffered data and the upstream forever. A stream that makes no
// progress (no drain, no close) for its HTTP connection manager's
// stream_idle_timeout is reset and counted, as Envoy's http2.tx_flush_timeout.
// One sweep timer per worker, running only while some stream waits: the
// per-response cost is linking the stream into a list and out again (its own
// fields, no hashing: every response is added once its end is queued).
import { h2Counters } from './h2-counters.js';

/** A stream that can be waiting on its client. */
export interface FlushWaiter {
  /** performance.now() when it began waiting. */
  flushSince: number;
  /** stream_idle_timeout of its HCM, ms (> 0). */
  readonly flushTimeoutMs: number;
  /** The watch's links: the waiters before and after it; flushPrev === this when the stream does not wait. */
  flushPrev: FlushWaiter | null;
  flushNext: FlushWaiter | null;
  /** Reset the stream: it waited too long. */
  flushTimedOut(): void;
}

const SWEEP_MS = 250;

class FlushWatch {
  /** The waiting streams, oldest first (a doubly linked list through their flushPrev/flushNext). */
  private head: FlushWaiter | null = null;
  private tail: FlushWaiter | null = null;
  private count = 0;
  private timer: NodeJS.Timeout | null = null;

  get size(): number {
    return this.count;
  }

  /** `w` starts (or keeps) waiting on its client. */
  add(w: FlushWaiter): void {
    if (w.flushTimeoutMs <= 0 || w.flushPrev !== w) return;
    w.flushSince = performance.now();
    w.flushPrev = this.tail;
    w.flushNext = null;
    if (this.tail === null) this.head = w;
    else this.tail.flushNext = w;
    this.tail = w;
    this.count++;
    if (this.timer === null) {
      this.timer = setInterval(sweep, SWEEP_MS, this);
      this.timer.unref();
    }
  }

  /** `w` made progress or is gone. */
  delete(w: FlushWaiter): void {
    if (w.flushPrev === w) return;
    const prev = w.flushPrev;
    const next = w.flushNext;
    if (prev === null) this.head = next;
    else prev.flushNext = next;
    if (next === null) this.tail = prev;
    else next.flushPrev = prev;
    w.flushPrev = w;
    w.flushNext = null;
    this.count--;
  }

  sweep(): void {
    if (this.count === 0) {
      // Stopped by the sweep rather than by delete: streams come and go at request rate, the timer need not.
      clearInterval(this.timer!);
      this.timer = null;
      return;
    }
    const now = performance.now();
    // Those past their time, taken out first: a reset may close other streams (and unlink them) as it runs.
    let late: FlushWaiter[] | null = null;
    for (let w = this.head; w !== null; w = w.flushNext) {
      if (now - w.flushSince >= w.flushTimeoutMs) (late ??= []).push(w);
    }
    if (late === null) return;
    for (const w of late) this.delete(w);
    for (const w of late) {
      h2Counters.txFlushTimeout++;
      w.flushTimedOut();
    }
  }
}

function sweep(watch: FlushWatch): void {
  watch.sweep();
}

/** This worker's watch. */
export const flushWatch = new FlushWatch();
