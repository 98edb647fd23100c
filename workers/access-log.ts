// One JSON line per request with Envoy's default access-log fields, through
// pino on an asynchronous destination so logging never blocks the worker.
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
}

export class AccessLog {
  private readonly logger: Logger | null;

  /** target: 'off', 'stdout', or a file path (appended). */
  constructor(target: string) {
    if (target === 'off') {
      this.logger = null;
      return;
    }
    const dest = pino.destination(target === 'stdout' ? { fd: 1, sync: false } : { dest: target, sync: false, mkdir: true });
    process.once('exit', () => {
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
    });
  }
}
