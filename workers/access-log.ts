// One JSON line per request with Envoy's default access-log fields, through
// pino on an asynchronous destination so logging never blocks the worker.
// The destination's buffer is bounded: when stdout (or the file) does not
// keep up, further lines are dropped and counted, never queued without end.
import pino, { type Logger } from 'pino';

export interface AccessLogEntry {
  readonly startTime: number; // epoch ms
  readonly method: string;
  readonly path: string;
  readonly protocol: string;
  readonly responseCode: number;
  readonly responseFlags: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly durationMs: number;
  readonly upstreamHost: string;
  readonly upstreamCluster: string;
  readonly requestId: string;
  readonly authority: string;
  readonly forwardedFor: string;
  readonly userAgent: string;
  /** The downstream TLS peer certificate's first URI SAN (SPIFFE ID); '' when none. */
  readonly peerUriSan: string;
}

/** Bytes of log lines a worker holds for a destination that does not keep up (a few thousand lines). */
export const ACCESS_LOG_BUFFER_BYTES = 1024 * 1024;

export class AccessLog {
  private readonly logger: Logger | null;
  /** Lines dropped by this thread because the buffer was full. */
  dropped = 0;

  /**
   * target: 'off', 'stdout', or a file path (appended). `onDropped`: told of each line dropped (the worker counts it
   * in the proxy's shared state for /stats/prometheus).
   */
  constructor(target: string, onDropped: (() => void) | null = null, maxBufferBytes = ACCESS_LOG_BUFFER_BYTES) {
    if (target === 'off') {
      this.logger = null;
      return;
    }
    const options = { sync: false, maxLength: maxBufferBytes };
    const dest = pino.destination(target === 'stdout' ? { ...options, fd: 1 } : { ...options, dest: target, mkdir: true });
    // Each write is one line: count it, let it go.
    dest.on('drop', () => {
      this.dropped++;
      onDropped?.();
    });
    process.once('exit', () => {
      // A destination that stopped taking lines would block this flush for good: skip it once lines were dropped,
      // and otherwise retry a full pipe (EAGAIN) for a second at most.
      if (this.dropped > 0) return;
      const deadline = Date.now() + 1000;
      (dest as unknown as { retryEAGAIN: () => boolean }).retryEAGAIN = () => Date.now() < deadline;
      try {
        dest.flushSync();
      } catch {
        // nothing buffered, or the fd is gone
      }
    });
    this.logger = pino({ base: null, timestamp: false, messageKey: 'msg' }, dest);
  }

  get enabled(): boolean {
    return this.logger !== null;
  }

  write(e: AccessLogEntry): void {
    this.logger?.info({
      log: 'access',
      start_time: new Date(e.startTime).toISOString(),
      method: e.method,
      path: e.path,
      protocol: e.protocol,
      response_code: e.responseCode,
      response_flags: e.responseFlags,
      bytes_received: e.bytesReceived,
      bytes_sent: e.bytesSent,
      duration: Math.round(e.durationMs),
      upstream_host: e.upstreamHost,
      upstream_cluster: e.upstreamCluster,
      x_forwarded_for: e.forwardedFor,
      user_agent: e.userAgent,
      request_id: e.requestId,
      authority: e.authority,
      downstream_peer_uri_san: e.peerUriSan === '' ? '-' : e.peerUriSan,
    });
  }
}
