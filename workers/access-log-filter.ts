// An access log's `filter`, compiled once per config into a small tree whose
// test() runs per finished request. Header filters read the header the
// access-log set captured for them (the head's buffer is gone by then).
import type { AccessLogFilter, ComparisonOp } from '../src/config/access-log-config.js';
import { StringMatcher } from '../src/routing/string-matcher.js';
import type { ActiveRequest } from './active-request.js';
import type { HeaderSlots, LogTimes } from './access-log-format.js';
import { ResponseFlag } from './response-flags.js';
import { TRACE_SAMPLED } from './tracing/upstream-trace-lines.js';

export interface LogFilter {
  test(req: ActiveRequest, t: LogTimes): boolean;
}

function compare(op: ComparisonOp, actual: number, value: number): boolean {
  return op === 'EQ' ? actual === value : op === 'GE' ? actual >= value : actual <= value;
}

class StatusCodeFilter implements LogFilter {
  constructor(private readonly op: ComparisonOp, private readonly value: number) {}
  test(req: ActiveRequest): boolean {
    return compare(this.op, req.responseCode, this.value);
  }
}

class DurationFilter implements LogFilter {
  constructor(private readonly op: ComparisonOp, private readonly value: number) {}
  test(_req: ActiveRequest, t: LogTimes): boolean {
    return compare(this.op, Math.floor(t.durationMs), this.value);
  }
}

class ConstantFilter implements LogFilter {
  constructor(private readonly result: boolean) {}
  test(): boolean {
    return this.result;
  }
}

/** traceable_filter: the HCM's tracing sampled the request (its span is already written and reused when the log runs). */
class TraceableFilter implements LogFilter {
  test(req: ActiveRequest): boolean {
    return req.trace !== null && (req.trace.bits & TRACE_SAMPLED) !== 0;
  }
}

class ResponseFlagFilter implements LogFilter {
  /** Bits of the flags named; all bits when none were named (any flag set). */
  private readonly mask: number;
  constructor(flags: readonly string[]) {
    const table = ResponseFlag as Readonly<Record<string, number>>;
    this.mask = flags.length === 0 ? 0x7fffffff : flags.reduce((m, f) => m | (table[f] ?? 0), 0);
  }
  test(req: ActiveRequest): boolean {
    return (req.flags & this.mask) !== 0;
  }
}

class HeaderFilter implements LogFilter {
  private readonly matcher: StringMatcher | null;
  constructor(
    private readonly slot: number,
    match: ConstructorParameters<typeof StringMatcher>[0] | null,
    private readonly present: boolean,
    private readonly invert: boolean,
  ) {
    this.matcher = match === null ? null : new StringMatcher(match);
  }
  /** Envoy's HeaderMatcher semantics, as routes use them: an absent header fails every value matcher. */
  test(req: ActiveRequest): boolean {
    const v = req.loggedRequestHeaders === null ? undefined : req.loggedRequestHeaders[this.slot];
    if (this.matcher === null) return ((v !== undefined) === this.present) !== this.invert;
    if (v === undefined) return false;
    return this.matcher.matches(v) !== this.invert;
  }
}

class AllFilter implements LogFilter {
  constructor(private readonly filters: readonly LogFilter[], private readonly all: boolean) {}
  test(req: ActiveRequest, t: LogTimes): boolean {
    for (const f of this.filters) if (f.test(req, t) !== this.all) return !this.all;
    return this.all;
  }
}

export function compileLogFilter(f: AccessLogFilter, slots: HeaderSlots): LogFilter {
  switch (f.kind) {
    case 'status_code': return new StatusCodeFilter(f.op, f.value);
    case 'duration': return new DurationFilter(f.op, f.value);
    // Envoy marks a request as a health check only in its health_check filter, which Isthmus does not have.
    case 'not_health_check': return new ConstantFilter(true);
    // Traceable means the HCM's tracing sampled it (no tracing config: nothing is).
    case 'traceable': return new TraceableFilter();
    case 'response_flag': return new ResponseFlagFilter(f.flags);
    case 'header': return new HeaderFilter(slots.requestSlot(f.header.name), f.header.match, f.header.present, f.header.invert);
    case 'and': return new AllFilter(f.filters.map((x) => compileLogFilter(x, slots)), true);
    case 'or': return new AllFilter(f.filters.map((x) => compileLogFilter(x, slots)), false);
  }
}
