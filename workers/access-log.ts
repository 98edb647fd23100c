// One access-log destination (a file, stdout or stderr). The request path
// only writes its line's bytes (a LineFormatter's, through a LineWriter)
// straight into a batch buffer; the buffer goes out in one asynchronous write (libuv's threadpool)
// once it holds 256 KiB or a second after its first line (Envoy flushes its
// access-log files the same way, at 64 KiB or every second). A write per
// event-loop turn was measured too dear: under load a turn serves one or two
// requests, and each threadpool round trip costs several µs of CPU. So
// logging costs one write per few hundred lines, never blocks the worker,
// and a reader that stalls holds at most
// `maxBufferBytes` of lines (queued plus in flight): beyond that further
// lines are dropped and counted, never queued without end.
import { Buffer } from 'node:buffer';
import { mkdirSync, openSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LineWriter } from './access-log-writer.js';

/** What writes a line into the batch buffer (a LineFormatter). */
export interface LineSource<R, T> {
  write(req: R, t: T, w: LineWriter): void;
}

/** A line already made as a string (append): its chars' low bytes, as a latin1 write. */
const STRING_LINE: LineSource<string, null> = { write: (line, _t, w) => w.raw(line) };

/** Bytes of log lines a worker holds for a destination that does not keep up (a few thousand lines). */
export const ACCESS_LOG_BUFFER_BYTES = 1024 * 1024;
/** A batch this large goes out at once (each write costs a threadpool round trip: fewer, larger ones are cheaper). */
const FLUSH_BYTES = 256 * 1024;
/**
 * Lines wait at most this long for a batch to fill (and for a write in flight to finish). Each flush wakes the
 * thread twice (the timer, then the threadpool write's completion): at 100 ms that was 20 wake-ups a second of the
 * data-plane thread under any steady load below ~2,500 req/s, each a chance to delay a request arriving then (the
 * p99 at a fixed 1,000 req/s); a second is Envoy's interval too.
 */
export const ACCESS_LOG_FLUSH_INTERVAL_MS = 1000;
/** Wait before writing again to a pipe that was full (EAGAIN). */
const RETRY_FULL_MS = 10;

export class AccessLog {
  private readonly fd: number;
  private readonly maxBytes: number;
  /** Lines of the current turn, waiting for the flush (allocated on the first line: 'off' costs nothing). */
  private fill: Buffer | null = null;
  private fillBytes = 0;
  private fillLines = 0;
  /** Told once nothing is queued or in flight (drain()). */
  private drainWaiters: (() => void)[] = [];
  /** The batch being written (the other buffer; the two swap), and how far the kernel has taken it. */
  private flight: Buffer | null = null;
  private flightBytes = 0;
  private flightLines = 0;
  private flightDone = 0;
  /** The buffer not in use while a batch is in flight (kept for the next swap). */
  private spare: Buffer | null = null;
  private flushScheduled = false;
  private readonly writer = new LineWriter();
  /** Lines dropped by this thread because the buffer was full (or the destination failed). */
  dropped = 0;

  /**
   * target: 'off', 'stdout', 'stderr', or a file path (appended, its directory made). `onDropped`: told of each line dropped
   * (the worker counts it in the proxy's shared state for /stats/prometheus). Throws when the file cannot be opened.
   */
  constructor(
    target: string,
    private readonly onDropped: (() => void) | null = null,
    maxBufferBytes = ACCESS_LOG_BUFFER_BYTES,
  ) {
    this.maxBytes = maxBufferBytes;
    if (target === 'off') {
      this.fd = -1;
      return;
    }
    if (target === 'stdout' || target === 'stderr') {
      this.fd = target === 'stdout' ? 1 : 2;
    } else {
      try {
        mkdirSync(dirname(target), { recursive: true });
        this.fd = openSync(target, 'a');
      } catch (err) {
        throw new Error(`access log: cannot open ${target}: ${(err as Error).message}`);
      }
    }
    process.once('exit', () => this.flushAtExit());
  }

  get enabled(): boolean {
    return this.fd >= 0;
  }

  /** Queues one line (ASCII, newline included); dropped and counted when the buffer is full. */
  append(line: string): void {
    this.appendLine(STRING_LINE, line, null);
  }

  /**
   * Queues the line `source` writes for `req`, its bytes put straight into the batch buffer; dropped and counted
   * when it does not fit in what the buffer has left (the same bound as append's).
   */
  appendLine<R, T>(source: LineSource<R, T>, req: R, t: T): void {
    if (this.fd < 0) return;
    const fill = (this.fill ??= Buffer.allocUnsafeSlow(this.maxBytes));
    const w = this.writer;
    w.reset(fill, this.fillBytes, this.maxBytes - (this.flightBytes - this.flightDone));
    source.write(req, t, w);
    if (w.overflow) {
      this.drop(1);
      return;
    }
    this.fillBytes = w.pos;
    this.fillLines++;
    if (this.fillBytes >= FLUSH_BYTES && this.flight === null) this.flush();
    else if (!this.flushScheduled) this.scheduleFlush();
  }

  /**
   * Writes what is queued now instead of at the next interval; resolves once nothing is queued or in flight (the
   * data plane's shutdown waits for it, bounded: a worker thread is then ended without running exit handlers).
   */
  drain(): Promise<void> {
    if (this.fd < 0 || (this.fillBytes === 0 && this.flight === null)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.drainWaiters.push(resolve);
      this.flush();
    });
  }

  private readonly onInterval = (): void => {
    this.flushScheduled = false;
    this.flush();
  };

  /** Starts writing the queued lines unless a write is under way (its completion flushes again). */
  private flush(): void {
    if (this.flight !== null || this.fillBytes === 0) return;
    const batch = this.fill!;
    this.fill = this.spare;
    this.spare = null;
    this.flight = batch;
    this.flightBytes = this.fillBytes;
    this.flightLines = this.fillLines;
    this.flightDone = 0;
    this.fillBytes = 0;
    this.fillLines = 0;
    this.writeFlight();
  }

  private writeFlight(): void {
    write(this.fd, this.flight!, this.flightDone, this.flightBytes - this.flightDone, null, this.onWritten);
  }

  private readonly onWritten = (err: NodeJS.ErrnoException | null, written: number): void => {
    if (err !== null) {
      if (err.code === 'EAGAIN') {
        setTimeout(this.retryFlight, RETRY_FULL_MS).unref();
        return;
      }
      // EPIPE, EBADF, ENOSPC...: this batch is lost; count its lines and go on with the next.
      this.drop(this.flightLines);
      this.flightDone = this.flightBytes;
    } else {
      this.flightDone += written;
    }
    if (this.flightDone < this.flightBytes) {
      this.writeFlight();
      return;
    }
    this.spare = this.flight;
    this.flight = null;
    this.flightBytes = this.flightDone = this.flightLines = 0;
    if (this.drainWaiters.length > 0) {
      if (this.fillBytes > 0) {
        this.flush();
        return;
      }
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
      return;
    }
    // What gathered meanwhile goes at once only if it is a full batch; otherwise it waits for the timer. Writing it
    // at once made one write per threadpool round trip under load (a few lines each): most of the log's cost.
    if (this.fillBytes >= FLUSH_BYTES) this.flush();
    else if (this.fillBytes > 0) this.scheduleFlush();
  };

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Unref'd: pending lines never keep a thread alive; the exit handler writes them.
    setTimeout(this.onInterval, ACCESS_LOG_FLUSH_INTERVAL_MS).unref();
  }

  private readonly retryFlight = (): void => {
    this.writeFlight();
  };

  private drop(lines: number): void {
    this.dropped += lines;
    if (this.onDropped !== null) for (let i = 0; i < lines; i++) this.onDropped();
  }

  /**
   * The queued lines, written synchronously as the thread exits. A destination that stopped taking lines would
   * block this for good: skip it once lines were dropped, and otherwise retry a full pipe for a second at most.
   */
  private flushAtExit(): void {
    if (this.dropped > 0 || this.fillBytes === 0 || this.fill === null) return;
    const deadline = Date.now() + 1000;
    let done = 0;
    while (done < this.fillBytes && Date.now() < deadline) {
      try {
        done += writeSync(this.fd, this.fill, done, this.fillBytes - done);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      }
    }
  }
}
