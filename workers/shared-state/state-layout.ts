// The layout of the proxy's shared state: one SharedArrayBuffer, created by
// the agent and handed to every worker, read and written with Atomics. It
// holds a header record, then one record per cluster slot, then one per
// endpoint slot. Every record is 16 int32 = 64 bytes (a cache line), so two
// workers bumping counters of different clusters or endpoints never share a
// line.

export const RECORD_INTS = 16;
export const RECORD_BYTES = RECORD_INTS * 4;

/** Header record (record 0). */
export const HEADER = {
  MAGIC: 0,
  CLUSTER_CAPACITY: 1,
  ENDPOINT_CAPACITY: 2,
} as const;

/** "ISTH" */
export const STATE_MAGIC = 0x49535448;

/** Fields of a cluster record: circuit-breaker resources, the health epoch, and counters every worker adds to. */
export const CLUSTER = {
  /** Open upstream connections (max_connections). */
  CX_ACTIVE: 0,
  /** Requests waiting for a connection (max_pending_requests). */
  RQ_PENDING: 1,
  /** Requests in flight, pending ones included (max_requests). */
  RQ_ACTIVE: 2,
  /** Retries in flight, from scheduling until the retry's outcome is known (max_retries / retry_budget). */
  RETRY_ACTIVE: 3,
  /** Bumped on every health change of any endpoint (balancers rebuild when it moves). */
  HEALTH_EPOCH: 4,
  /** Endpoints currently ejected by outlier detection. */
  EJECTED: 5,
  /** upstream_rq_pending_overflow: max_requests or max_pending_requests refused a request. */
  RQ_PENDING_OVERFLOW: 6,
  /** upstream_cx_overflow: max_connections refused a new connection. */
  CX_OVERFLOW: 7,
  /** upstream_rq_retry_overflow: a retry refused by max_retries or the retry budget. */
  RETRY_OVERFLOW: 8,
  /** outlier_detection.ejections_overflow: ejections refused by max_ejection_percent. */
  EJECTIONS_OVERFLOW: 9,
  EJECTIONS_DETECTED_5XX: 10,
  EJECTIONS_ENFORCED_5XX: 11,
  EJECTIONS_DETECTED_GATEWAY: 12,
  EJECTIONS_ENFORCED_GATEWAY: 13,
  EJECTIONS_DETECTED_SUCCESS_RATE: 14,
  EJECTIONS_ENFORCED_SUCCESS_RATE: 15,
} as const;

/** Fields of an endpoint record. */
export const ENDPOINT = {
  /** HEALTH_* bits. */
  FLAGS: 0,
  /** 5xx responses and local-origin failures in a row (consecutive_5xx). */
  CONSECUTIVE_5XX: 1,
  /** 502/503/504 and local-origin failures in a row (consecutive_gateway_failure). */
  CONSECUTIVE_GATEWAY: 2,
  /** Requests with an outcome in the current success-rate interval. */
  WINDOW_TOTAL: 3,
  /** Of those, failures (5xx or local origin). */
  WINDOW_ERRORS: 4,
} as const;

/** Bits of an endpoint's FLAGS word; any set bit keeps traffic away. */
export const HEALTH = {
  FAILED_ACTIVE_HC: 1,
  FAILED_OUTLIER_CHECK: 2,
  PENDING_ACTIVE_HC: 4,
} as const;

/** The kinds of ejection, as Envoy names them in stats and logs. */
export const EJECTION_KIND = { CONSECUTIVE_5XX: 0, CONSECUTIVE_GATEWAY_FAILURE: 1, SUCCESS_RATE: 2 } as const;
export const EJECTION_KIND_NAMES = ['consecutive_5xx', 'consecutive_gateway_failure', 'success_rate'] as const;

export interface StateCapacity {
  readonly clusters: number;
  readonly endpoints: number;
}

/** Envoy health flags as /clusters prints them: "healthy" or "/failed_active_hc/failed_outlier_check/pending_active_hc". */
export function healthFlagsText(flags: number): string {
  if (flags === 0) return 'healthy';
  let s = '';
  if ((flags & HEALTH.FAILED_ACTIVE_HC) !== 0) s += '/failed_active_hc';
  if ((flags & HEALTH.FAILED_OUTLIER_CHECK) !== 0) s += '/failed_outlier_check';
  if ((flags & HEALTH.PENDING_ACTIVE_HC) !== 0) s += '/pending_active_hc';
  return s;
}

/** The shared memory and where each record starts; the same class on the agent and in every worker. */
export class SharedState {
  readonly ints: Int32Array;
  readonly clusterCapacity: number;
  readonly endpointCapacity: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.ints = new Int32Array(buffer);
    if (this.ints.length < RECORD_INTS || this.ints[HEADER.MAGIC] !== STATE_MAGIC) {
      throw new Error('shared state: the buffer is not an Isthmus state buffer');
    }
    this.clusterCapacity = this.ints[HEADER.CLUSTER_CAPACITY]!;
    this.endpointCapacity = this.ints[HEADER.ENDPOINT_CAPACITY]!;
  }

  /** Allocates a zeroed buffer for this many cluster and endpoint slots. */
  static create(capacity: StateCapacity): SharedState {
    if (!Number.isInteger(capacity.clusters) || capacity.clusters < 1 || !Number.isInteger(capacity.endpoints) || capacity.endpoints < 1) {
      throw new Error(`shared state: capacity must be positive integers, got ${capacity.clusters} clusters, ${capacity.endpoints} endpoints`);
    }
    const buffer = new SharedArrayBuffer(RECORD_BYTES * (1 + capacity.clusters + capacity.endpoints));
    const ints = new Int32Array(buffer);
    ints[HEADER.MAGIC] = STATE_MAGIC;
    ints[HEADER.CLUSTER_CAPACITY] = capacity.clusters;
    ints[HEADER.ENDPOINT_CAPACITY] = capacity.endpoints;
    return new SharedState(buffer);
  }

  /** Index in `ints` of cluster slot `slot`'s record. */
  clusterBase(slot: number): number {
    if (!(slot >= 0 && slot < this.clusterCapacity)) throw new RangeError(`shared state: cluster slot ${slot} out of range`);
    return RECORD_INTS * (1 + slot);
  }

  /** Index in `ints` of endpoint slot `slot`'s record. */
  endpointBase(slot: number): number {
    if (!(slot >= 0 && slot < this.endpointCapacity)) throw new RangeError(`shared state: endpoint slot ${slot} out of range`);
    return RECORD_INTS * (1 + this.clusterCapacity + slot);
  }

  /** Zeroes a record before its slot is given to a new cluster/endpoint (agent only, after quarantine). */
  zero(base: number): void {
    for (let i = 0; i < RECORD_INTS; i++) Atomics.store(this.ints, base + i, 0);
  }
}

/**
 * Records of their own for a cluster with no slots (unit tests, a config
 * written without slots): the cluster's at 0, endpoint i's at RECORD_INTS * (1 + i).
 */
export function privateClusterRecords(endpointCount: number): Int32Array {
  return new Int32Array(RECORD_INTS * (1 + endpointCount));
}
