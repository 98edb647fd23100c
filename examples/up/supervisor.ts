// The demo's process supervisor: starts each child, waits for the line that
// says it is ready, restarts one that dies (a bounded number of times,
// reporting each), and stops them all. Every child gets an IPC channel it
// watches (src/cli/exit-with-parent.ts, and the apps' app-server.mjs): when
// the demo goes away, even by SIGKILL, the channel closes and the child
// stops itself, so nothing outlives the demo. Each child runs in its own
// process group, so a terminal's Ctrl-C reaches only the demo, which then
// stops each child exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ChildSpec {
  /** For messages: 'control', 'reviews-v2 sidecar', ... */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** True for the output line that shows the child is ready. */
  readonly isReady: (line: string) => boolean;
  /** Sees every output line (e.g. to echo warnings). */
  readonly onLine?: (line: string) => void;
  readonly readyTimeoutMs?: number;
}

/** Restarts of one child before the supervisor gives up on it. */
export const MAX_RESTARTS = 3;
const RESTART_DELAY_MS = 1000;
const STOP_GRACE_MS = 5000;
const KEPT_LINES = 20;

export class SupervisedChild {
  restarts = 0;
  private child: ChildProcess | null = null;
  private stopping = false;
  private readonly recent: string[] = [];
  private exitWaiters: (() => void)[] = [];

  constructor(
    readonly spec: ChildSpec,
    private readonly report: (message: string) => void,
  ) {}

  /** The running child's pid, or -1. */
  get pid(): number {
    return this.child?.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts the child; resolves once it printed its ready line, rejects (with its last lines) if it did not. */
  start(): Promise<void> {
    const spec = this.spec;
    const child = spawn(spec.command, [...spec.args], {
      env: spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: true,
    });
    this.child = child;
    let ready = false;
    return new Promise<void>((resolve, reject) => {
      const timeoutMs = spec.readyTimeoutMs ?? 30_000;
      const timer = setTimeout(() => fail(new Error(`${spec.name} was not ready after ${timeoutMs / 1000} s`)), timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        if (ready) return;
        ready = true; // settled
        const tail = this.recent.slice(-5).join('\n  ');
        reject(new Error(`${err.message}${tail === '' ? '' : `; its last output:\n  ${tail}`}`));
      };
      const onLine = (line: string): void => {
        this.recent.push(line);
        if (this.recent.length > KEPT_LINES) this.recent.shift();
        spec.onLine?.(line);
        if (!ready && spec.isReady(line)) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      for (const stream of [child.stdout, child.stderr]) {
        if (stream !== null) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
      }
      child.once('error', (err) => fail(new Error(`${spec.name} did not start: ${err.message}`)));
      child.once('exit', (code, signal) => {
        this.child = null;
        const waiters = this.exitWaiters;
        this.exitWaiters = [];
        for (const w of waiters) w();
        if (!ready) {
          fail(new Error(`${spec.name} exited before it was ready (${signal ?? `code ${code}`})`));
          return;
        }
        if (!this.stopping) this.onUnexpectedExit(signal ?? `code ${code}`);
      });
    });
  }

  private onUnexpectedExit(how: string): void {
    if (this.restarts >= MAX_RESTARTS) {
      this.report(`${this.spec.name} exited (${how}) after ${MAX_RESTARTS} restarts: giving up on it; the rest of the demo keeps running`);
      return;
    }
    this.restarts++;
    this.report(`${this.spec.name} exited (${how}); restarting it (${this.restarts}/${MAX_RESTARTS})`);
    setTimeout(() => {
      if (this.stopping) return;
      this.start().then(
        () => this.report(`${this.spec.name} is back`),
        (err: Error) => this.report(`${this.spec.name} did not come back: ${err.message}`),
      );
    }, RESTART_DELAY_MS).unref();
  }

  /** SIGTERM, SIGKILL after a grace period; resolves once the child is gone (at once when not running). */
  stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (child === null) return Promise.resolve();
    const gone = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    return gone.finally(() => clearTimeout(timer));
  }
}

/** The set of children the demo runs. */
export class Supervisor {
  readonly children: SupervisedChild[] = [];
  private closed = false;

  constructor(private readonly report: (message: string) => void) {}

  /** Starts one child and resolves once it is ready; it is stopped with the others even if it never got ready. */
  async start(spec: ChildSpec): Promise<SupervisedChild> {
    if (this.closed) throw new Error(`not starting ${spec.name}: the demo is stopping`);
    const child = new SupervisedChild(spec, this.report);
    this.children.push(child);
    await child.start();
    return child;
  }

  /** Pids of the running children. */
  pids(): number[] {
    return this.children.map((c) => c.pid).filter((p) => p > 0);
  }

  /** Stops the children matching `which` (default all) in parallel. */
  async stop(which: (c: SupervisedChild) => boolean = () => true): Promise<void> {
    this.closed = true;
    await Promise.all(this.children.filter(which).map((c) => c.stop()));
  }
}
