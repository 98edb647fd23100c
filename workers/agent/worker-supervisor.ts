// Runs the N data-plane worker threads: starts them, tracks which config
// version each has applied, answers point-to-point queries (stats, clusters),
// and restarts a worker that exits unexpectedly with exponential backoff
// while the others keep serving.
import type { PolicyTransport } from '../filters/mixer/policy-transport.js';
import type { SdsSecrets } from '../../src/config/sds-secrets.js';
import { BroadcastChannel, Worker } from 'node:worker_threads';
import { createLogger, type Logger } from '../../src/log.js';
import { CONFIG_CHANNEL, type AgentMessage, type ConfigAnnouncement, type WorkerInit, type WorkerMessage } from '../worker-protocol.js';
import type { DataPlaneHost, QueryType, WorkerState, WorkerStatus } from './data-plane-host.js';

export type { WorkerState, WorkerStatus } from './data-plane-host.js';

/**
 * A worker's garbage is almost all per-request and short-lived, so a small
 * young generation costs no measurable CPU, while V8's default lets it grow
 * to 32 MB under load. Measured with wrk -c50: peak RSS -12 MB per worker.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 4 };

export const RESTART_BACKOFF_MIN_MS = 100;
export const RESTART_BACKOFF_MAX_MS = 10_000;
/** A worker that ran this long before exiting restarts after the minimum delay again. */
export const RESTART_BACKOFF_RESET_AFTER_MS = 30_000;

interface WorkerSlot {
  readonly workerId: number;
  worker: Worker | null;
  state: WorkerState;
  appliedVersion: number;
  restarts: number;
  lastError: string | null;
  startedAt: number;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | null;
  drained: boolean;
  /** The thread's uncaught error, if it died of one. */
  exitReason: string | null;
  /** Writes the worker's log records (made on its first). */
  logger: Logger | null;
}

type QueryReply = Extract<WorkerMessage, { type: QueryType }>;

interface PendingQuery {
  readonly replies: Map<number, QueryReply>;
  readonly expected: Set<number>;
  readonly done: () => void;
}

export interface WorkerSupervisorOptions {
  readonly count: number;
  /** The first thread's worker id (1 when worker 0 serves on the main thread: MixedDataPlaneHost); default 0. */
  readonly firstWorkerId?: number;
  readonly workerUrl: URL;
  /** workerData for each worker, minus its id. */
  readonly init: Omit<WorkerInit, 'workerId'>;
  readonly log: Logger;
  /** Called on every config-applied / config-failed / exit, so readiness can be re-evaluated. */
  readonly onChange?: () => void;
  /** A worker ejected an endpoint (outlier detection). */
  readonly onOutlierEjection?: (msg: Extract<WorkerMessage, { type: 'outlier-ejection' }>) => void;
  /** Where the workers' policy Checks and Reports go (the agent's PolicyClient). */
  readonly policy?: PolicyTransport;
  /** A worker's thread has ended (any reason), before a replacement starts: release what it held in shared state. */
  readonly onWorkerExit?: (workerId: number) => void;
}

export class WorkerSupervisor implements DataPlaneHost {
  readonly threadModel = 'worker-threads';
  /** Config versions reach every worker thread here; each reads the version from LMDB. */
  private readonly channel = new BroadcastChannel(CONFIG_CHANNEL);
  /** The agent's SDS secrets as last announced: each (re)started worker gets them in its workerData. */
  private secrets: SdsSecrets = {};
  private readonly slots: WorkerSlot[];
  private readonly pending = new Map<number, PendingQuery>();
  private nextQueryId = 1;
  /** The level set at run time (admin /logging), when it was. */
  private logLevel: string | undefined;
  private stopping = false;
  private listenersDrained = false;
  private drainWaiters: (() => void)[] = [];
  restartsTotal = 0;

  constructor(private readonly options: WorkerSupervisorOptions) {
    const first = options.firstWorkerId ?? 0;
    this.slots = Array.from({ length: options.count }, (_, i) => ({
      workerId: first + i,
      worker: null,
      state: 'starting' as WorkerState,
      appliedVersion: 0,
      restarts: 0,
      lastError: null,
      startedAt: 0,
      backoffMs: RESTART_BACKOFF_MIN_MS,
      restartTimer: null,
      drained: false,
      exitReason: null,
      logger: null,
    }));
  }

  start(): Promise<void> {
    for (const slot of this.slots) this.spawn(slot);
    return Promise.resolve();
  }

  announce(version: number, secrets?: SdsSecrets): void {
    if (secrets !== undefined) this.secrets = secrets;
    const announcement: ConfigAnnouncement = { version, secrets: this.secrets };
    this.channel.postMessage(announcement);
  }

  get count(): number {
    return this.slots.length;
  }

  status(): WorkerStatus[] {
    return this.slots.map((s) => ({
      workerId: s.workerId,
      state: s.state,
      appliedVersion: s.appliedVersion,
      restarts: s.restarts,
      lastError: s.lastError,
      threadId: s.worker?.threadId ?? null,
    }));
  }

  /** Every worker is running and has applied `version`. */
  allApplied(version: number): boolean {
    return this.slots.every((s) => s.state === 'running' && s.appliedVersion === version);
  }

  /** Asks every live worker; resolves with the replies that came within timeoutMs. */
  query<T extends QueryType>(type: T, timeoutMs: number): Promise<Extract<WorkerMessage, { type: T }>[]> {
    const id = this.nextQueryId++;
    const live = this.slots.filter((s) => s.worker !== null && s.state !== 'stopped');
    return new Promise((resolve) => {
      const replies = new Map<number, QueryReply>();
      const finish = (): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve([...replies.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r as Extract<WorkerMessage, { type: T }>));
      };
      const timer = setTimeout(finish, timeoutMs);
      const expected = new Set(live.map((s) => s.workerId));
      this.pending.set(id, { replies, expected, done: finish });
      if (expected.size === 0) return finish();
      for (const slot of live) this.post(slot, { type, id } as AgentMessage);
    });
  }

  /** Stops accepting on every worker's listeners (admin /drain_listeners); restarted workers drain too. */
  drainListeners(): void {
    this.listenersDrained = true;
    for (const slot of this.slots) this.post(slot, { type: 'drain-listeners' });
  }

  /** Sets every worker's log level (admin /logging); restarted workers start with it too. */
  setLogLevel(level: string): void {
    this.logLevel = level;
    for (const slot of this.slots) this.post(slot, { type: 'log-level', level });
  }

  get draining(): boolean {
    return this.listenersDrained;
  }

  /** Simulates a crash of one worker (debug endpoint): the thread is terminated and restarted like any unexpected exit. */
  crash(workerId: number): boolean {
    const slot = this.slots.find((s) => s.workerId === workerId);
    if (slot?.worker == null || slot.state === 'stopped') return false;
    this.options.log.warn({ workerId }, 'terminating worker on request (debug endpoint)');
    void slot.worker.terminate();
    return true;
  }

  /** Graceful stop: every worker drains within timeoutMs; resolves when all drained or exited (or timeoutMs + 1 s passed). */
  async shutdown(timeoutMs: number): Promise<void> {
    this.stopping = true;
    for (const slot of this.slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      slot.restartTimer = null;
      if (slot.worker === null) slot.state = 'stopped';
      this.post(slot, { type: 'shutdown', timeoutMs });
    }
    const allDone = new Promise<void>((resolve) => {
      this.drainWaiters.push(resolve);
      this.checkDrained();
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs + 1000);
    });
    const outcome = await Promise.race([allDone, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const late = this.slots.filter((s) => s.worker !== null && !s.drained).map((s) => s.workerId);
      this.options.log.warn({ workers: late }, 'workers did not drain in time; terminating them');
    }
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
    this.channel.close();
  }

  private spawn(slot: WorkerSlot): void {
    const { workerUrl, init, log } = this.options;
    const workerData: WorkerInit = { ...init, workerId: slot.workerId, logLevel: this.logLevel ?? init.logLevel, secrets: this.secrets };
    const worker = new Worker(workerUrl, { workerData, stdout: false, stderr: false, resourceLimits: WORKER_LIMITS });
    slot.worker = worker;
    slot.state = 'starting';
    slot.appliedVersion = 0;
    slot.drained = false;
    slot.exitReason = null;
    slot.startedAt = Date.now();
    worker.on('message', (msg: WorkerMessage) => this.onMessage(slot, worker, msg));
    worker.on('error', (err) => {
      slot.exitReason = err.stack ?? String(err);
      log.error({ workerId: slot.workerId, err }, 'worker failed');
    });
    worker.on('exit', (code) => this.onExit(slot, worker, code));
    if (this.listenersDrained) this.post(slot, { type: 'drain-listeners' });
  }

  private onMessage(slot: WorkerSlot, worker: Worker, msg: WorkerMessage): void {
    if (slot.worker !== worker) return;
    switch (msg.type) {
      case 'config-applied':
        slot.appliedVersion = Math.max(slot.appliedVersion, msg.version);
        if (slot.state === 'starting') slot.state = 'running';
        this.options.log.debug({ workerId: slot.workerId, version: msg.version }, 'worker applied config');
        this.options.onChange?.();
        return;
      case 'config-failed':
        slot.lastError = `config version ${msg.version}: ${msg.error}`;
        this.options.log.error({ workerId: slot.workerId, version: msg.version, error: msg.error }, 'worker could not apply config');
        this.options.onChange?.();
        return;
      case 'stats':
      case 'clusters': {
        const query = this.pending.get(msg.id);
        if (query === undefined) return; // late reply after the timeout
        query.replies.set(slot.workerId, msg);
        if (query.replies.size >= query.expected.size) query.done();
        return;
      }
      case 'drained':
        slot.drained = true;
        this.checkDrained();
        return;
      case 'outlier-ejection':
        this.options.onOutlierEjection?.(msg);
        return;
      case 'policy-check': {
        const id = msg.id;
        const policy = this.options.policy;
        if (policy === undefined) worker.postMessage({ type: 'policy-check-result', id, outcome: { ok: false, error: 'no policy client' } });
        // The reply goes to the thread that asked, if it is still the slot's.
        else policy.check(msg.call, (outcome) => { if (slot.worker === worker) worker.postMessage({ type: 'policy-check-result', id, outcome }); });
        return;
      }
      case 'policy-report':
        this.options.policy?.report(msg.target, msg.batch, msg.entries);
        return;
      case 'log':
        this.workerLogger(slot)[msg.record.level](msg.record.fields, msg.record.msg);
        return;
      default:
        this.options.log.warn({ workerId: slot.workerId, message: msg }, 'unknown message from worker');
    }
  }

  /** The pino logger writing a worker's records ("worker-N", the proxy's format; one per slot, kept across restarts). */
  private workerLogger(slot: WorkerSlot): Logger {
    const { init } = this.options;
    // The worker's level first (it drops what is below); admin /logging sets this one with every other logger here.
    return (slot.logger ??= createLogger(`worker-${slot.workerId}`, this.logLevel ?? init.logLevel, { format: init.logFormat, colorize: init.logColor }));
  }

  private onExit(slot: WorkerSlot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    this.options.onWorkerExit?.(slot.workerId);
    // A query waiting on this worker should not wait for its timeout.
    for (const query of this.pending.values()) {
      query.expected.delete(slot.workerId);
      if (query.replies.size >= query.expected.size) query.done();
    }
    if (this.stopping) {
      slot.state = 'stopped';
      slot.drained = true;
      this.checkDrained();
      return;
    }
    const ranMs = Date.now() - slot.startedAt;
    if (ranMs >= RESTART_BACKOFF_RESET_AFTER_MS) slot.backoffMs = RESTART_BACKOFF_MIN_MS;
    const delayMs = slot.backoffMs;
    slot.backoffMs = Math.min(slot.backoffMs * 2, RESTART_BACKOFF_MAX_MS);
    slot.state = 'restarting';
    slot.lastError = slot.exitReason ?? `exited with code ${code}`;
    this.options.log.error({ workerId: slot.workerId, exitCode: code, ranMs, restartInMs: delayMs }, 'worker exited unexpectedly; restarting');
    this.options.onChange?.();
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.stopping) return;
      slot.restarts++;
      this.restartsTotal++;
      this.spawn(slot);
    }, delayMs);
  }

  private checkDrained(): void {
    if (!this.stopping || !this.slots.every((s) => s.drained || s.worker === null)) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private post(slot: WorkerSlot, msg: AgentMessage): void {
    slot.worker?.postMessage(msg);
  }
}
