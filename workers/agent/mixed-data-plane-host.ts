// --workers N >= 2 with --main-thread-data-plane: worker 0's data plane runs
// on the main thread beside the agent (InThreadDataPlane, reading the same
// LMDB store the threads read) and workers 1..N-1 on threads
// (WorkerSupervisor). One V8 isolate fewer than N threads (~13 MB of peak
// RSS), at the price of worker 0's crash isolation: a crash of the data plane
// there ends the process, and the agent's work (xDS, admin API, health
// checks) shares that thread's event loop with its requests.
import type { SdsSecrets } from '../../src/config/sds-secrets.js';
import type { WorkerMessage } from '../worker-protocol.js';
import type { DataPlaneHost, QueryType, WorkerStatus } from './data-plane-host.js';
import type { InThreadDataPlane } from './in-thread-data-plane.js';
import type { WorkerSupervisor } from './worker-supervisor.js';

export class MixedDataPlaneHost implements DataPlaneHost {
  readonly threadModel = 'main-thread-and-workers';

  constructor(
    private readonly main: InThreadDataPlane,
    /** Workers 1..N-1 (its firstWorkerId is 1). */
    private readonly threads: WorkerSupervisor,
    /** Runs between the main thread's data plane loading and the threads starting (startup-pages.ts's release). */
    private readonly beforeThreads: () => void = () => {},
  ) {}

  get count(): number {
    return this.main.count + this.threads.count;
  }

  get restartsTotal(): number {
    return this.threads.restartsTotal;
  }

  get draining(): boolean {
    return this.main.draining || this.threads.draining;
  }

  async start(): Promise<void> {
    // The main thread's data-plane modules first, then the threads: their isolates boot after what the main
    // thread's loading alone touched is released, so the two never add up.
    await this.main.start();
    this.beforeThreads();
    await this.threads.start();
  }

  announce(version: number, secrets?: SdsSecrets): void {
    this.main.announce(version, secrets);
    this.threads.announce(version, secrets);
  }

  status(): WorkerStatus[] {
    return [...this.main.status(), ...this.threads.status()];
  }

  allApplied(version: number): boolean {
    return this.main.allApplied(version) && this.threads.allApplied(version);
  }

  async query<T extends QueryType>(type: T, timeoutMs: number): Promise<Extract<WorkerMessage, { type: T }>[]> {
    const [main, threads] = await Promise.all([this.main.query(type, timeoutMs), this.threads.query(type, timeoutMs)]);
    return [...main, ...threads];
  }

  drainListeners(): void {
    this.main.drainListeners();
    this.threads.drainListeners();
  }

  setLogLevel(level: string): void {
    this.main.setLogLevel(level);
    this.threads.setLogLevel(level);
  }

  /** Only a worker thread can be ended and restarted (worker 0 is the main thread). */
  crash(workerId: number): boolean {
    return this.threads.crash(workerId);
  }

  async shutdown(timeoutMs: number): Promise<void> {
    await Promise.all([this.main.shutdown(timeoutMs), this.threads.shutdown(timeoutMs)]);
  }
}
