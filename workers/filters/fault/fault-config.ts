// envoy.filters.http.fault: a fixed (or header-given) delay and an abort with
// an HTTP or gRPC status, each applied to a share of the requests its
// `headers` matchers accept. As in Envoy, a delay is decided first; the abort
// is then decided when the delay ends (or at once when there is none), and
// max_active_faults caps how many requests carry a fault at the same time.
// Compiled once per route (CompiledFault); per request only a FaultRun, and
// only for a request the fault applies to.
import type { FaultConfig } from '../../../src/config/bootstrap-types.js';
import type { RequestView } from '../../../src/routing/request-view.js';
import { RouteMatcher } from '../../../src/routing/route-matcher.js';
import { localAnswer, isGrpcContentType, type FilterAnswer } from '../filter-answer.js';
import { findHeader } from '../../header-block.js';
import type { ListenerFilterStats } from '../../http-filter-stats.js';
import { LocalActiveFaults, type ActiveFaultGate } from '../../shared-state/active-faults.js';
import { ResponseFlag } from '../../response-flags.js';
import { timerDelay } from '../../../src/timer-delay.js';

/** A uniform random number in [0, 1): Math.random, or a fixed sequence in unit tests. */
export type RandomSource = () => number;

/** The request headers that control faults when header_delay / header_abort are configured (Envoy's names). */
export const FaultHeader = {
  DELAY: 'x-envoy-fault-delay-request',
  DELAY_PERCENTAGE: 'x-envoy-fault-delay-request-percentage',
  ABORT: 'x-envoy-fault-abort-request',
  ABORT_GRPC: 'x-envoy-fault-abort-grpc-request',
  ABORT_PERCENTAGE: 'x-envoy-fault-abort-request-percentage',
} as const;

const ABORT_MESSAGE = 'fault filter abort';

/** Called when a request's fault delay has elapsed (ActiveRequest). */
export interface FaultDelayTarget {
  faultDelayElapsed(): void;
}

function onDelayElapsed(target: FaultDelayTarget): void {
  target.faultDelayElapsed();
}

/** The longest timer Node keeps (a longer one fires after 1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

/** Envoy reads these headers as unsigned decimal integers; anything else counts as absent (-1). */
function headerInt(buf: Buffer, out: Uint32Array, name: string): number {
  const v = findHeader(buf, out, name);
  if (v === undefined || v.length === 0 || v.length > 15 || !/^\d+$/.test(v)) return -1;
  return Number(v);
}

export class CompiledFault {
  /** The `headers` matchers as a path-less route match; null when there are none. */
  private readonly matcher: RouteMatcher | null;
  /** Precomputed answers for a fixed abort status (no allocation per abort). */
  private readonly fixedPlain: FilterAnswer | null;
  private readonly fixedGrpc: FilterAnswer | null;

  /** The longest delay a client's x-envoy-fault-delay-request may ask for. */
  private readonly maxHeaderDelayMs: number;

  constructor(
    readonly config: FaultConfig,
    readonly stats: ListenerFilterStats,
    private readonly random: RandomSource = Math.random,
    /** Where max_active_faults is counted: the proxy's shared counter in a worker, this thread's in unit tests. */
    readonly gate: ActiveFaultGate = new LocalActiveFaults(),
    /** The route's timeout (0: none): a client-set delay never holds a request longer than it. */
    routeTimeoutMs = 0,
  ) {
    this.maxHeaderDelayMs = routeTimeoutMs > 0 ? Math.min(routeTimeoutMs, MAX_TIMER_MS) : MAX_TIMER_MS;
    this.matcher =
      config.headers.length === 0
        ? null
        : new RouteMatcher({ kind: 'prefix', value: '', caseSensitive: true, headers: config.headers, queryParameters: [] });
    const abort = config.abort;
    if (abort !== null && !abort.headerAbort) {
      this.fixedPlain = localAnswer(abort.httpStatus ?? 200, abort.grpcStatus, ABORT_MESSAGE, false, ResponseFlag.FI);
      this.fixedGrpc = localAnswer(abort.httpStatus ?? 200, abort.grpcStatus, ABORT_MESSAGE, true, ResponseFlag.FI);
    } else {
      this.fixedPlain = null;
      this.fixedGrpc = null;
    }
  }

  /** Whether the `headers` matchers accept this request (true when there are none). */
  matches(view: RequestView): boolean {
    return this.matcher === null || this.matcher.matchesRequest(view);
  }

  /** Reads what this fault needs from the head in buf/out (valid only now): the content type and the control headers it honours. */
  begin(buf: Buffer, out: Uint32Array): FaultRun {
    const run = new FaultRun(this);
    const c = this.config;
    // Only an abort's answer depends on it: a delay-only fault skips the content-type scan.
    if (c.abort !== null) run.grpcRequest = isGrpcContentType(findHeader(buf, out, 'content-type'));
    if (c.delay !== null && c.delay.headerDelay) {
      run.headerDelayMs = headerInt(buf, out, FaultHeader.DELAY);
      run.headerDelayPercent = headerInt(buf, out, FaultHeader.DELAY_PERCENTAGE);
    }
    if (c.abort !== null && c.abort.headerAbort) {
      run.headerAbortHttp = headerInt(buf, out, FaultHeader.ABORT);
      run.headerAbortGrpc = headerInt(buf, out, FaultHeader.ABORT_GRPC);
      run.headerAbortPercent = headerInt(buf, out, FaultHeader.ABORT_PERCENTAGE);
    }
    return run;
  }

  /**
   * A header's percentage is a numerator over the configured percentage's
   * denominator, capped by the configured numerator. The contract keeps only the
   * fraction, so the denominator is taken as HUNDRED (Envoy's default).
   */
  private roll(configured: number, headerPercent: number): boolean {
    const p = headerPercent < 0 ? configured : Math.min(headerPercent / 100, configured);
    return p >= 1 || (p > 0 && this.random() < p);
  }

  /** The delay for this request in ms, 0 for none (the percentage rolled here). */
  delayMs(run: FaultRun): number {
    const d = this.config.delay;
    if (d === null) return 0;
    if (!this.roll(d.percentage, d.headerDelay ? run.headerDelayPercent : -1)) return 0;
    if (d.headerDelay) return run.headerDelayMs > 0 ? Math.min(run.headerDelayMs, this.maxHeaderDelayMs) : 0;
    const ms = d.fixedDelayMs ?? 0;
    return ms > 0 ? ms : 0;
  }

  /** The abort for this request, or null (the percentage rolled here). */
  abort(run: FaultRun): FilterAnswer | null {
    const a = this.config.abort;
    if (a === null) return null;
    if (!this.roll(a.percentage, a.headerAbort ? run.headerAbortPercent : -1)) return null;
    if (!a.headerAbort) return run.grpcRequest ? this.fixedGrpc : this.fixedPlain;
    // Envoy: an HTTP status in [200, 600) first, else a gRPC status, else no abort.
    const http = run.headerAbortHttp;
    if (http >= 200 && http < 600) return localAnswer(http, null, ABORT_MESSAGE, run.grpcRequest, ResponseFlag.FI);
    if (run.headerAbortGrpc >= 0) return localAnswer(200, run.headerAbortGrpc, ABORT_MESSAGE, run.grpcRequest, ResponseFlag.FI);
    return null;
  }
}

/** One request's fault state: what it read from the head, whether it holds an active fault, its delay timer. */
export class FaultRun {
  grpcRequest = false;
  headerDelayMs = -1;
  headerDelayPercent = -1;
  headerAbortHttp = -1;
  headerAbortGrpc = -1;
  headerAbortPercent = -1;
  /** Counted in active_faults (at most once per request, as Envoy does). */
  private active = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly fault: CompiledFault) {}

  get delaying(): boolean {
    return this.timer !== null;
  }

  /** Takes an active-fault slot; false (and faults_overflow counted) when max_active_faults is reached. */
  activate(): boolean {
    if (this.active) return true;
    const stats = this.fault.stats;
    if (!this.fault.gate.tryAcquire(this.fault.config.maxActiveFaults)) {
      stats.faultsOverflow++;
      return false;
    }
    stats.activeFaults++;
    this.active = true;
    return true;
  }

  /** Decides delay then abort at the head; returns the abort to send now, or null (check `delaying`). */
  decide(target: FaultDelayTarget): FilterAnswer | null {
    const fault = this.fault;
    const ms = fault.delayMs(this);
    if (ms > 0 && this.activate()) {
      fault.stats.delaysInjected++;
      this.timer = setTimeout(onDelayElapsed, timerDelay(ms), target);
      return null;
    }
    return this.tryAbort();
  }

  /** The delay ended: the abort is decided now; with none the request goes on and the fault is no longer active. */
  afterDelay(): FilterAnswer | null {
    this.timer = null;
    const answer = this.tryAbort();
    if (answer === null) this.release();
    return answer;
  }

  private tryAbort(): FilterAnswer | null {
    const answer = this.fault.abort(this);
    if (answer === null || !this.activate()) return null;
    this.fault.stats.abortsInjected++;
    return answer;
  }

  /** The request is over (or gone): stop the delay, give back the active-fault slot. */
  end(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.release();
  }

  private release(): void {
    if (this.active) {
      this.active = false;
      this.fault.stats.activeFaults--;
      this.fault.gate.release();
    }
  }
}
