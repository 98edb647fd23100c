// envoy.filters.http.fault as a filter of the chain: on the head, when the
// route's fault applies to the request, an abort answers it at once, and a
// delay stops the chain until its timer fires (then the abort is decided, and
// without one the chain goes on: the route timeout starts after the delay, as
// in Envoy). The decisions themselves are the compiled fault's (fault-config.ts).
import { FAULT_FILTER_NAME } from '../../../src/config/http-filter-names.js';
import { ResponseFlag } from '../../response-flags.js';
import { FilterStatus, PassThroughFilter, type HttpFilterCallbacks, type HttpFilterFactory } from '../http-filter.js';
import type { CompiledFault, FaultDelayTarget, FaultRun } from './fault-config.js';

export class FaultFilterFactory implements HttpFilterFactory {
  readonly name = FAULT_FILTER_NAME;

  constructor(readonly fault: CompiledFault) {}

  create(callbacks: HttpFilterCallbacks): FaultFilter {
    return new FaultFilter(this.fault, callbacks);
  }
}

export class FaultFilter extends PassThroughFilter implements FaultDelayTarget {
  /** The fault's state for this request; null when its header matchers did not accept the request. */
  private run: FaultRun | null = null;

  constructor(
    private readonly fault: CompiledFault,
    private readonly callbacks: HttpFilterCallbacks,
  ) {
    super();
  }

  decodeHeaders(head: Buffer, fields: Uint32Array): FilterStatus {
    // The request (a RequestView over the same head) for the fault's header matchers.
    if (!this.fault.matches(this.callbacks)) return FilterStatus.CONTINUE;
    const run = (this.run = this.fault.begin(head, fields));
    const answer = run.decide(this);
    if (run.delaying) {
      this.callbacks.addResponseFlag(ResponseFlag.DI);
      return FilterStatus.STOP_ITERATION; // faultDelayElapsed() goes on
    }
    if (answer === null) return FilterStatus.CONTINUE;
    this.callbacks.sendLocalReply(answer);
    return FilterStatus.STOP_ITERATION;
  }

  /** The delay's timer fired: abort now, or let the chain go on. */
  faultDelayElapsed(): void {
    const answer = this.run!.afterDelay();
    if (answer === null) {
      this.callbacks.continueDecoding();
      return;
    }
    this.callbacks.sendLocalReply(answer);
  }

  override onDestroy(): void {
    if (this.run !== null) this.run.end();
  }
}
