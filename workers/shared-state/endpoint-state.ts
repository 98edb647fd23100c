// An endpoint's record in the shared state as a worker uses it: its health
// (one load) and the outcomes outlier detection counts. Failures seen by any
// worker add to the same consecutive counters; the worker whose failure
// reaches a threshold ejects the endpoint (outlier-ejection.ts) and tells the
// agent, which logs it and brings the endpoint back later. Success costs a
// load and, only after failures, a store; with no outlier_detection, nothing.
import type { OutlierDetection } from '../../src/config/bootstrap-types.js';
import type { ClusterState } from './cluster-state.js';
import { EjectionResult, tryEject } from './outlier-ejection.js';
import { EJECTION_KIND, ENDPOINT, HEALTH } from './state-layout.js';
import { hostSetRefresher } from '../balancers/host-set-refresher.js';

export interface EjectionNotice {
  readonly cluster: string;
  readonly address: string;
  readonly port: number;
  /** EJECTION_KIND */
  readonly kind: number;
}

let ejectionListener: ((notice: EjectionNotice) => void) | null = null;

/** The worker's way to tell the agent about an ejection it made (worker-main sets it). */
export function setEjectionListener(listener: ((notice: EjectionNotice) => void) | null): void {
  ejectionListener = listener;
}

const UNHEALTHY = HEALTH.FAILED_ACTIVE_HC | HEALTH.FAILED_OUTLIER_CHECK | HEALTH.PENDING_ACTIVE_HC;

export class EndpointState {
  private readonly consecutive5xx: number;
  private readonly consecutiveGateway: number;
  private readonly trackWindow: boolean;

  constructor(
    readonly ints: Int32Array,
    /** Index of the record's first field in `ints`. */
    readonly base: number,
    readonly cluster: ClusterState,
    readonly outlier: OutlierDetection | null,
    /** Endpoints in the cluster, for max_ejection_percent. */
    readonly endpointCount: number,
    readonly clusterName: string,
    readonly address: string,
    readonly port: number,
  ) {
    // 0 turns a detector off (Envoy requires > 0 there; a threshold of 0 could never be met exactly).
    this.consecutive5xx = outlier?.consecutive5xx ?? 0;
    this.consecutiveGateway = outlier?.consecutiveGatewayFailure ?? 0;
    this.trackWindow = outlier !== null && outlier.enforcingSuccessRate > 0;
  }

  /** No active-HC failure, not pending its first check, not ejected. */
  healthy(): boolean {
    return (Atomics.load(this.ints, this.base + ENDPOINT.FLAGS) & UNHEALTHY) === 0;
  }

  flags(): number {
    return Atomics.load(this.ints, this.base + ENDPOINT.FLAGS);
  }

  /** The upstream answered with `status` (called at the response head). */
  recordStatus(status: number): void {
    if (this.outlier === null) return;
    const ints = this.ints;
    const b = this.base;
    if (this.trackWindow) Atomics.add(ints, b + ENDPOINT.WINDOW_TOTAL, 1);
    if (status < 500) {
      // Plain reads first: a store only when there is a run of failures to end.
      if (ints[b + ENDPOINT.CONSECUTIVE_5XX] !== 0) Atomics.store(ints, b + ENDPOINT.CONSECUTIVE_5XX, 0);
      if (ints[b + ENDPOINT.CONSECUTIVE_GATEWAY] !== 0) Atomics.store(ints, b + ENDPOINT.CONSECUTIVE_GATEWAY, 0);
      return;
    }
    this.failed(status === 502 || status === 503 || status === 504);
  }

  /**
   * A local-origin failure: connect failure, reset, timeout, protocol error.
   * With split_external_local_origin_errors false (the default, the only mode
   * modelled) Envoy maps these to 503/504, so they count as 5xx and as
   * gateway failures.
   */
  recordLocalFailure(): void {
    if (this.outlier === null) return;
    if (this.trackWindow) Atomics.add(this.ints, this.base + ENDPOINT.WINDOW_TOTAL, 1);
    this.failed(true);
  }

  private failed(gateway: boolean): void {
    const ints = this.ints;
    const b = this.base;
    if (this.trackWindow) Atomics.add(ints, b + ENDPOINT.WINDOW_ERRORS, 1);
    const n5xx = Atomics.add(ints, b + ENDPOINT.CONSECUTIVE_5XX, 1) + 1;
    let nGateway = 0;
    if (gateway) nGateway = Atomics.add(ints, b + ENDPOINT.CONSECUTIVE_GATEWAY, 1) + 1;
    else if (ints[b + ENDPOINT.CONSECUTIVE_GATEWAY] !== 0) Atomics.store(ints, b + ENDPOINT.CONSECUTIVE_GATEWAY, 0);
    // Exactly at the threshold: of several workers failing at once, only one acts.
    if (n5xx === this.consecutive5xx) {
      Atomics.store(ints, b + ENDPOINT.CONSECUTIVE_5XX, 0);
      this.eject(EJECTION_KIND.CONSECUTIVE_5XX, this.outlier!.enforcingConsecutive5xx);
    }
    if (gateway && nGateway === this.consecutiveGateway) {
      Atomics.store(ints, b + ENDPOINT.CONSECUTIVE_GATEWAY, 0);
      this.eject(EJECTION_KIND.CONSECUTIVE_GATEWAY_FAILURE, this.outlier!.enforcingConsecutiveGatewayFailure);
    }
  }

  private eject(kind: number, enforcingPercent: number): void {
    const result = tryEject({
      ints: this.ints,
      clusterBase: this.cluster.base,
      endpointBase: this.base,
      endpointCount: this.endpointCount,
      maxEjectionPercent: this.outlier!.maxEjectionPercent,
      enforcingPercent,
      kind,
    });
    if (result !== EjectionResult.EJECTED) return;
    // This worker moved the health epoch: its host sets are rebuilt once the current callbacks are done.
    hostSetRefresher.soon();
    if (ejectionListener !== null) ejectionListener({ cluster: this.clusterName, address: this.address, port: this.port, kind });
  }
}
