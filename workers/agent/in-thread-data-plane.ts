// --workers 1: the data plane runs on the main thread beside the agent, with
// no worker isolate (a second isolate and its copy of every module cost more
// memory than a small sidecar's whole budget). It reads config versions from
// the agent's own store, answers queries by a direct call, and shares
// the agent's logger level. A crash here is a process crash: there is no
// thread to restart, so the process exits and whatever supervises it
// (Kubernetes, systemd) starts it again.
import type { PolicyTransport } from '../filters/mixer/policy-transport.js';
import type { Logger } from '../../src/log.js';
import type { SdsSecrets } from '../../src/config/sds-secrets.js';
import type { ConfigStore } from '../../src/store/config-store.js';
import type { DataPlane } from '../data-plane.js';
import type { WorkerInit, WorkerMessage } from '../worker-protocol.js';
import type { DataPlaneHost, QueryType, WorkerState, WorkerStatus } from './data-plane-host.js';

export interface InThreadDataPlaneOptions {
  readonly init: Omit<WorkerInit, 'workerId'>;
  /** The agent's store (in memory: nothing else reads it). */
  readonly store: ConfigStore;
  readonly log: Logger;
  /** Called on every config-applied / config-failed, so readiness can be re-evaluated. */
  readonly onChange?: () => void;
  readonly onOutlierEjection?: (msg: Extract<WorkerMessage, { type: 'outlier-ejection' }>) => void;
  /** The agent's PolicyClient: on this thread the policy filter calls it directly. */
  readonly policy?: PolicyTransport;
}

export class InThreadDataPlane implements DataPlaneHost {
  readonly threadModel = 'main-thread';
  readonly count = 1;
  readonly restartsTotal = 0;
  private dataPlane: DataPlane | null = null;
  private state: WorkerState = 'starting';
  private appliedVersion = 0;
  private lastError: string | null = null;
  private listenersDrained = false;
  private stopped = false;
  private secrets: SdsSecrets = {};

  constructor(private readonly options: InThreadDataPlaneOptions) {}

  /** Loads the data-plane modules only now: a --workers N proxy's main thread never holds them. */
  async start(): Promise<void> {
    const [{ DataPlane }, { setPolicyTransport }] = await Promise.all([import('../data-plane.js'), import('../filters/mixer/policy-transport.js')]);
    if (this.stopped) return;
    if (this.options.policy !== undefined) setPolicyTransport(this.options.policy);
    const { init, store, log } = this.options;
    this.dataPlane = new DataPlane({ ...init, workerId: 0 }, store, log.child({ worker: 0 }), (msg) => this.onMessage(msg));
    this.dataPlane.applyVersion(store.activeVersion(), this.secrets);
  }

  announce(version: number, secrets?: SdsSecrets): void {
    if (secrets !== undefined) this.secrets = secrets;
    this.dataPlane?.applyVersion(version, this.secrets);
  }

  get draining(): boolean {
    return this.listenersDrained;
  }

  status(): WorkerStatus[] {
    return [{ workerId: 0, state: this.state, appliedVersion: this.appliedVersion, restarts: 0, lastError: this.lastError, threadId: 0 }];
  }

  allApplied(version: number): boolean {
    return this.state === 'running' && this.appliedVersion === version;
  }

  query<T extends QueryType>(type: T, _timeoutMs: number): Promise<Extract<WorkerMessage, { type: T }>[]> {
    const dp = this.dataPlane;
    if (dp === null || this.state === 'stopped') return Promise.resolve([]);
    const reply: WorkerMessage =
      type === 'stats' ? { type: 'stats', id: 0, snapshot: dp.statsSnapshot() } : { type: 'clusters', id: 0, clusters: dp.clusterStatus() };
    return Promise.resolve([reply as Extract<WorkerMessage, { type: T }>]);
  }

  drainListeners(): void {
    this.listenersDrained = true;
    this.dataPlane?.drainListeners();
  }

  /** The data plane's loggers are this thread's: the agent's setLogLevel() has already reached them. */
  setLogLevel(_level: string): void {}

  /** There is no thread to end and restart: a crash of the data plane here is a crash of the process. */
  crash(_workerId: number): boolean {
    return false;
  }

  async shutdown(timeoutMs: number): Promise<void> {
    this.stopped = true;
    await this.dataPlane?.shutdown(timeoutMs);
    this.state = 'stopped';
  }

  private onMessage(msg: WorkerMessage): void {
    switch (msg.type) {
      case 'config-applied':
        this.appliedVersion = Math.max(this.appliedVersion, msg.version);
        if (this.state === 'starting') this.state = 'running';
        this.options.onChange?.();
        return;
      case 'config-failed':
        this.lastError = `config version ${msg.version}: ${msg.error}`;
        this.options.log.error({ workerId: 0, version: msg.version, error: msg.error }, 'worker could not apply config');
        this.options.onChange?.();
        return;
      case 'outlier-ejection':
        this.options.onOutlierEjection?.(msg);
        return;
      default:
        // stats / clusters / drained are answered by direct calls above.
        return;
    }
  }
}
