// How a long-running Isthmus process stops: the first SIGTERM/SIGINT (or a
// request such as /quitquitquit) starts a graceful shutdown (drain, then exit
// 0); a second signal exits 1 at once. A stop requested while the process is
// still starting waits until it has started, then runs.
import { flushLogs, type Logger } from '../log.js';

export interface Stoppable {
  /** Drains and releases everything; the process exits when it settles. */
  shutdown(reason: string): Promise<void>;
}

export class GracefulStop {
  private target: Stoppable | null = null;
  private pending: string | null = null;
  private stopping = false;

  /** `what` names the process in the log line (`control stopping`). */
  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  /** Turns SIGTERM and SIGINT into stop requests. */
  onSignals(): this {
    process.on('SIGTERM', () => this.request('SIGTERM'));
    process.on('SIGINT', () => this.request('SIGINT'));
    return this;
  }

  request(reason: string): void {
    if (this.target === null) {
      this.pending = reason; // handled once started
      return;
    }
    if (this.stopping) {
      if (!reason.startsWith('SIG')) return; // a repeated request just waits for the drain under way
      this.log.warn({ reason }, 'second stop request: exiting without waiting for the drain');
      exitProcess(1);
    }
    this.stopping = true;
    this.log.info({ reason }, `${this.what} stopping`);
    this.target.shutdown(reason).then(
      () => exitProcess(0),
      (err: unknown) => {
        this.log.error({ err }, 'shutdown failed');
        exitProcess(1);
      },
    );
  }

  /** The process is serving: a stop requested meanwhile runs now. */
  started(target: Stoppable): void {
    this.target = target;
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) this.request(pending);
  }
}

/** Flushes logs and exits. */
export function exitProcess(code: number): never {
  flushLogs();
  process.exit(code);
}
