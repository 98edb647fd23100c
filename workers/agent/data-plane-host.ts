// What the agent needs from wherever the data plane runs: worker threads
// (WorkerSupervisor, --workers N >= 2) or the agent's own thread
// (InThreadDataPlane, --workers 1, no second isolate). The agent drives both
// the same way: announce a config version, ask for stats and clusters, set
// the log level, drain, shut down.
import type { SdsSecrets } from '../../src/config/sds-secrets.js';
import type { WorkerMessage } from '../worker-protocol.js';

export type WorkerState = 'starting' | 'running' | 'restarting' | 'stopped';

/** Where the data plane runs, as /server_info and /debug/config_dump show it. */
export type ThreadModel = 'main-thread' | 'worker-threads' | 'main-thread-and-workers';

export interface WorkerStatus {
  readonly workerId: number;
  readonly state: WorkerState;
  /** Last config version the worker reported applied; 0 before the first. */
  readonly appliedVersion: number;
  readonly restarts: number;
  /** The last config-failed error or exit reason, if any. */
  readonly lastError: string | null;
  readonly threadId: number | null;
}

export type QueryType = 'stats' | 'clusters';

export interface DataPlaneHost {
  readonly threadModel: ThreadModel;
  readonly count: number;
  /** Data planes restarted after a crash (always 0 on the main thread: a crash there ends the process). */
  readonly restartsTotal: number;
  readonly draining: boolean;
  /** Starts serving the store's active version. */
  start(): Promise<void>;
  /** A new version is in the store: every data plane compiles and swaps it in. */
  /** `secrets`: the agent's SDS secrets, delivered in memory with the version (never stored). */
  announce(version: number, secrets?: SdsSecrets): void;
  status(): WorkerStatus[];
  /** Every data plane is running and has applied `version`. */
  allApplied(version: number): boolean;
  /** Asks every live data plane; resolves with the replies that came within timeoutMs. */
  query<T extends QueryType>(type: T, timeoutMs: number): Promise<Extract<WorkerMessage, { type: T }>[]>;
  /** Stops accepting on every listener (admin /drain_listeners). */
  drainListeners(): void;
  setLogLevel(level: string): void;
  /** Debug endpoint: simulates a crash of worker `workerId`; false when there is no such live worker thread. */
  crash(workerId: number): boolean;
  /** Graceful stop: connections finish within timeoutMs. */
  shutdown(timeoutMs: number): Promise<void>;
}
