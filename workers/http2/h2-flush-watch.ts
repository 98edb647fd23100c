// The zero-window stall defence: a stream whose response is waiting on the
// client (its window shut, or the client not reading) must not hold the
// proxy's buffered data and the upstream forever. A stream that makes no
// progress (no drain, no close) for its HTTP connection manager's
// stream_idle_timeout is reset and counted, as Envoy's http2.tx_flush_timeout.
// One sweep timer per worker, running only while some stream waits: the
// per-response cost is a Set add and delete.
import { h2Counters } from './h2-counters.js';

/** A stream that can be waiting on its client. */
export interface FlushWaiter {
  /** performance.now() when it began waiting. */
  flushSince: number;
  /** stream_idle_timeout of its HCM, ms (> 0). */
  readonly flushTimeoutMs: number;
  /** Reset the stream: it waited too long. */
  flushTimedOut(): void;
}

const SWEEP_MS = 250;

class FlushWatch {
  private readonly waiting = new Set<FlushWaiter>();
  private timer: NodeJS.Timeout | null = null;

  /** `w` starts (or keeps) waiting on its client. */
  add(w: FlushWaiter): void {
    if (w.flushTimeoutMs <= 0 || this.waiting.has(w)) return;
    w.flushSince = performance.now();
    this.waiting.add(w);
    if (this.timer === null) {
      this.timer = setInterval(sweep, SWEEP_MS, this);
      this.timer.unref();
    }
  }

  /** `w` made progress or is gone. */
  delete(w: FlushWaiter): void {
    this.waiting.delete(w);
  }

  sweep(): void {
    if (this.waiting.size === 0) {
      // Stopped by the sweep rather than by delete: streams come and go at request rate, the timer need not.
      clearInterval(this.timer!);
      this.timer = null;
      return;
    }
    const now = performance.now();
    for (const w of this.waiting) {
      if (now - w.flushSince < w.flushTimeoutMs) continue;
      this.delete(w);
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
