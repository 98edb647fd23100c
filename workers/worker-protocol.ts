// Messages between the agent (main thread) and the data-plane worker threads.
// Config versions travel on a BroadcastChannel (CONFIG_CHANNEL); everything
// else is point-to-point over the worker's parentPort.

import type { WorkerLogRecord } from './worker-log.js';
import type { WorkerStatsSnapshot } from '../src/stats/worker-stats-snapshot.js';
import type { SdsSecrets } from '../src/config/sds-secrets.js';
import type { PolicyCheckMessage, PolicyCheckReply, PolicyReportMessage } from './filters/mixer/policy-transport.js';

export {
  ISTIO_DURATION_BUCKETS_MS,
  type RequestSeries,
  type UpstreamClusterStats,
  type WorkerStatsSnapshot,
} from '../src/stats/worker-stats-snapshot.js';

/** BroadcastChannel name on which the agent announces `{ version }` after an LMDB write. */
export const CONFIG_CHANNEL = 'isthmus:config';

export interface ConfigAnnouncement {
  readonly version: number;
  /**
   * The agent's SDS secrets (its workload certificate and key, the trust bundle), sent with every version so
   * a worker always compiles a version with the secrets it was written for. Never written to LMDB.
   */
  readonly secrets?: SdsSecrets;
}

/** workerData given to every worker thread. */
export interface WorkerInit {
  readonly workerId: number;
  /** --startup-pages: a worker thread releases what its own boot touched of the node binary once its modules are loaded. */
  readonly startupPages?: 'release' | 'keep';
  /** The proxy's LMDB environment directory (opened read-only by convention). */
  readonly dataDir: string;
  /** Labels for istio_* metrics: this proxy's own workload. */
  readonly serviceName: string;
  readonly namespace: string;
  /** Access log target: 'stdout', 'off', or a file path. */
  readonly accessLog: string;
  readonly logLevel: string;
  /** Resolved by the agent (a worker thread has no terminal to look at). */
  readonly logFormat: 'json' | 'pretty';
  readonly logColor: boolean;
  /** Limits for the native head parser. */
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
  /** --max-connections: open downstream connections allowed in the whole proxy; 0 = no limit. */
  readonly maxConnections: number;
  /** --transport: who reads and writes this worker's data-plane sockets. */
  readonly transport: 'node' | 'native';
  /** Their count, shared by all workers (connection-limit.ts). */
  readonly connectionCounts: SharedArrayBuffer;
  /** The proxy's shared state (shared-state/state-layout.ts), created once by the agent; survives worker restarts. */
  readonly sharedState: SharedArrayBuffer;
  /** The local rate limit's buckets and counters (shared-state/rate-limit-buckets.ts), one per proxy; absent in tests that build a data plane alone. */
  readonly rateLimitState?: SharedArrayBuffer;
  /** The policy filter's counters (filters/mixer/mixer-counters.ts), one table per proxy; absent in tests that build a data plane alone. */
  readonly mixerCounters?: SharedArrayBuffer;
  /** Tracing's counters (tracing/tracing-counters.ts), one table per proxy; absent in tests that build a data plane alone. */
  readonly tracingCounters?: SharedArrayBuffer;
  /** 80 bytes: the session-ticket key of every downstream TLS context (16 name + 32 HMAC + 32 AES). */
  readonly tlsTicketKey: Uint8Array;
  /** The agent's SDS secrets when this worker started (a restarted worker compiles with the current ones). */
  readonly secrets?: SdsSecrets;
}

// ---- agent -> worker ----
export type AgentMessage =
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'clusters'; readonly id: number }
  /** Stop accepting on every listener; keep serving open connections. */
  | { readonly type: 'drain-listeners' }
  /** Set every logger's level (admin /logging?level=). */
  | { readonly type: 'log-level'; readonly level: string }
  /** Stop accepting, finish in-flight requests within timeoutMs, close all, then post 'drained'. */
  | { readonly type: 'shutdown'; readonly timeoutMs: number }
  /** The answer to a worker's policy Check. */
  | PolicyCheckReply;

// ---- worker -> agent ----
export type WorkerMessage =
  /** Sent once the worker has applied a config version and its listeners are open. */
  | { readonly type: 'config-applied'; readonly version: number }
  | { readonly type: 'config-failed'; readonly version: number; readonly error: string }
  | { readonly type: 'stats'; readonly id: number; readonly snapshot: WorkerStatsSnapshot }
  | { readonly type: 'clusters'; readonly id: number; readonly clusters: readonly ClusterStatus[] }
  | { readonly type: 'drained' }
  /** This worker ejected an endpoint (outlier detection); kind is an EJECTION_KIND. */
  | { readonly type: 'outlier-ejection'; readonly cluster: string; readonly address: string; readonly port: number; readonly kind: number }
  /** A log record: the agent writes it (workers do not load pino: worker-log.ts). */
  | { readonly type: 'log'; readonly record: WorkerLogRecord }
  /** The policy filter's Check and Report go through the agent (workers do not load gRPC). */
  | PolicyCheckMessage
  | PolicyReportMessage;

export interface EndpointStatus {
  readonly address: string;
  readonly port: number;
  readonly weight: number;
  readonly rqActive: number;
  readonly rqTotal: number;
  readonly rqError: number;
  readonly cxActive: number;
}

export interface ClusterStatus {
  readonly cluster: string;
  readonly endpoints: readonly EndpointStatus[];
}
