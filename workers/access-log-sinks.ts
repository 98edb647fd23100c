// The access-log destinations of one thread, by target ('stdout', 'stderr' or
// a file path): each opened once and shared by every logger and config
// version that names it, so lines for one file go through one batch buffer.
// A thread holds at most MAX_SINKS of them (each may buffer up to 1 MiB).
import { AccessLog } from './access-log.js';

export const MAX_ACCESS_LOG_SINKS = 32;

export class AccessLogSinks {
  private readonly byTarget = new Map<string, AccessLog>();

  constructor(private readonly onDropped: (() => void) | null) {}

  /**
   * The sink for an access_log entry's file `path`: always a file, even one named `off`, `stdout` or `stderr` (in the
   * working directory, as Envoy opens it; those bare names are --access-log's own targets). Throws when it cannot be opened.
   */
  openFile(path: string): AccessLog {
    return this.open(path === 'off' || path === 'stdout' || path === 'stderr' ? `./${path}` : path);
  }

  /** The sink for a target (`/dev/stdout` and `/dev/stderr` are the process's own); throws when it cannot be opened. */
  open(target: string): AccessLog {
    const key = target === '/dev/stdout' ? 'stdout' : target === '/dev/stderr' ? 'stderr' : target;
    let sink = this.byTarget.get(key);
    if (sink !== undefined) return sink;
    if (this.byTarget.size >= MAX_ACCESS_LOG_SINKS) {
      throw new Error(`access log: at most ${MAX_ACCESS_LOG_SINKS} access-log files per proxy; cannot open ${target}`);
    }
    sink = new AccessLog(key, this.onDropped);
    if (sink.enabled) this.byTarget.set(key, sink);
    return sink;
  }

  /** Writes every destination's queued lines now; resolves once all are written (or failed and counted). */
  drainAll(): Promise<void> {
    return Promise.all([...this.byTarget.values()].map((s) => s.drain())).then(() => undefined);
  }
}
