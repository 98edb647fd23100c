// The layout of the proxy's shared state: one SharedArrayBuffer, created by
// the agent and handed to every worker, read and written with Atomics. It
// holds a header record, then one record per cluster slot, then one per
// endpoint slot. Every record is 16 int32 = 64 bytes (a cache line), so two
// workers bumping counters of different clusters or endpoints never share a
// line. Last come the workers' holdings: per worker and cluster slot, the
// circuit-breaker resources that worker holds (written only by it), so the
// agent can give back what a crashed worker held; then, per worker, the
// active faults it holds (same reason). Proxy-wide counters live in the
// header record.

export const RECORD_INTS = 16;
export const RECORD_BYTES = RECORD_INTS * 4;

/** Header record (record 0). */
export const HEADER = {
  MAGIC: 0,
  CLUSTER_CAPACITY: 1,
  ENDPOINT_CAPACITY: 2,
  WORKER_CAPACITY: 3,
  /** Requests carrying an injected fault now, over every worker (max_active_faults is per proxy). */
  ACTIVE_FAULTS: 4,
  /** Access-log lines dropped because the log's destination did not keep up (its buffer was full). */
  ACCESS_LOG_DROPPED: 5,
  /**
   * Moves (and is notified, Atomics.notify) after any cluster's HEALTH_EPOCH moved: every data-plane thread waits
   * on it (Atomics.waitAsync) to rebuild its host sets, instead of polling the epochs on a timer.
   */
  HEALTH_SIGNAL: 6,
} as const;

/** A worker's holdings per cluster slot: CX_ACTIVE, RQ_PENDING, RQ_ACTIVE, RETRY_ACTIVE (the cluster record's first fields). */
export const HOLDING_INTS = 4;

/** "ISTH" */
export const STATE_MAGIC = 0x49535448;

/**
 * After a cluster's HEALTH_EPOCH moved in `ints`: moves HEADER.HEALTH_SIGNAL and wakes every thread waiting on it.
 * A cluster on private records (no shared state) has no header: nothing to signal there (only its own thread
 * changes its health, and that thread refreshes itself).
 */
export function signalHealthChange(ints: Int32Array): void {
  if (!(ints.buffer instanceof SharedArrayBuffer) || ints.length < RECORD_INTS || ints[HEADER.MAGIC] !== STATE_MAGIC) return;
  Atomics.add(ints, HEADER.HEALTH_SIGNAL, 1);
  Atomics.notify(ints, HEADER.HEALTH_SIGNAL);
}

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
  /** Worker ids the holdings region has room for (0 .. workers - 1). */
  readonly workers: number;
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
  readonly workerCapacity: number;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.ints = new Int32Array(buffer);
    if (this.ints.length < RECORD_INTS || this.ints[HEADER.MAGIC] !== STATE_MAGIC) {
      throw new Error('shared state: the buffer is not an Isthmus state buffer');
    }
    this.clusterCapacity = this.ints[HEADER.CLUSTER_CAPACITY]!;
    this.endpointCapacity = this.ints[HEADER.ENDPOINT_CAPACITY]!;
    this.workerCapacity = this.ints[HEADER.WORKER_CAPACITY]!;
  }

  /** Allocates a zeroed buffer for this many cluster and endpoint slots. */
  static create(capacity: StateCapacity): SharedState {
    const { clusters, endpoints, workers } = capacity;
    if (![clusters, endpoints, workers].every((n) => Number.isInteger(n) && n >= 1)) {
      throw new Error(`shared state: capacity must be positive integers, got ${clusters} clusters, ${endpoints} endpoints, ${workers} workers`);
    }
    const buffer = new SharedArrayBuffer(RECORD_BYTES * (1 + clusters + endpoints) + 4 * HOLDING_INTS * workers * clusters + 4 * workers);
    const ints = new Int32Array(buffer);
    ints[HEADER.MAGIC] = STATE_MAGIC;
    ints[HEADER.CLUSTER_CAPACITY] = clusters;
    ints[HEADER.ENDPOINT_CAPACITY] = endpoints;
    ints[HEADER.WORKER_CAPACITY] = workers;
    return new SharedState(buffer);
  }

  /** Index in `ints` of worker `worker`'s holdings for cluster slot `slot`. */
  holdingBase(worker: number, slot: number): number {
    if (!(worker >= 0 && worker < this.workerCapacity)) throw new RangeError(`shared state: worker ${worker} out of range`);
    this.clusterBase(slot);
    return RECORD_INTS * (1 + this.clusterCapacity + this.endpointCapacity) + HOLDING_INTS * (worker * this.clusterCapacity + slot);
  }

  /** Index in `ints` of the number of active faults worker `worker` holds (written only by it). */
  faultHoldingAt(worker: number): number {
    if (!(worker >= 0 && worker < this.workerCapacity)) throw new RangeError(`shared state: worker ${worker} out of range`);
    return RECORD_INTS * (1 + this.clusterCapacity + this.endpointCapacity) + HOLDING_INTS * this.workerCapacity * this.clusterCapacity + worker;
  }

  /**
   * A worker exited: gives back to every cluster what it held (requests, pending requests, retries,
   * connections it had counted), so its crash does not shrink the circuit breakers for good. The
   * worker's thread is gone, so nothing else writes its holdings. Returns the sum given back.
   */
  releaseWorker(worker: number): number {
    let released = 0;
    for (let slot = 0; slot < this.clusterCapacity; slot++) {
      const own = this.holdingBase(worker, slot);
      const cluster = this.clusterBase(slot);
      for (let k = 0; k < HOLDING_INTS; k++) {
        const held = this.ints[own + k]!;
        if (held === 0) continue;
        Atomics.sub(this.ints, cluster + k, held);
        this.ints[own + k] = 0;
        released += held;
      }
    }
    const faultsAt = this.faultHoldingAt(worker);
    const faults = this.ints[faultsAt]!;
    if (faults !== 0) {
      Atomics.sub(this.ints, HEADER.ACTIVE_FAULTS, faults);
      this.ints[faultsAt] = 0;
      released += faults;
    }
    return released;
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

  /** Zeroes every worker's holdings for a cluster slot being reused (its old counts went with the old cluster). */
  zeroHoldings(slot: number): void {
    for (let w = 0; w < this.workerCapacity; w++) {
      const own = this.holdingBase(w, slot);
      for (let k = 0; k < HOLDING_INTS; k++) Atomics.store(this.ints, own + k, 0);
    }
  }
}

/**
 * Records of their own for a cluster with no slots (unit tests, a config
 * written without slots): the cluster's at 0, endpoint i's at RECORD_INTS * (1 + i).
 */
export function privateClusterRecords(endpointCount: number): Int32Array {
  return new Int32Array(RECORD_INTS * (1 + endpointCount));
}
