// The fault filter's decisions on real parsed heads: percentages (with a
// fixed random sequence standing in for Math.random), fixed and
// header-controlled delays and aborts, the gRPC abort shape, the `headers`
// matchers, and max_active_faults.
import { describe, expect, it } from 'vitest';
import type { FaultAbort, FaultConfig, FaultDelay, HeaderMatcher } from '../../../../src/config/bootstrap-types.js';
import type { RequestView } from '../../../../src/routing/request-view.js';
import { CompiledFault, FaultHeader, type FaultDelayTarget } from '../../../../workers/filters/fault/fault-config.js';
import { ListenerFilterStats } from '../../../../workers/http-filter-stats.js';
import { ResponseFlag } from '../../../../workers/response-flags.js';
import { parseRequest } from '../../../native/parse-helpers.js';

function delay(d: Partial<FaultDelay>): FaultDelay {
  return { fixedDelayMs: null, headerDelay: false, percentage: 1, ...d };
}

function abort(a: Partial<FaultAbort>): FaultAbort {
  return { httpStatus: null, grpcStatus: null, headerAbort: false, percentage: 1, ...a };
}

function fault(c: Partial<FaultConfig>): FaultConfig {
  return { delay: null, abort: null, headers: [], maxActiveFaults: null, ...c };
}

/** Cycles through `values` (each in [0, 1)). */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

function head(headers: Record<string, string> = {}): { buf: Buffer; out: Uint32Array } {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const p = parseRequest(`GET /x HTTP/1.1\r\nhost: svc\r\n${lines}\r\n`);
  expect(p.result).toBeGreaterThan(0);
  return { buf: p.buf, out: p.out };
}

function view(headers: Record<string, string>): RequestView {
  return { method: 'GET', path: '/x', query: '', authority: 'svc', headers: Object.entries(headers).flat() };
}

const noTarget: FaultDelayTarget = { faultDelayElapsed() {} };

describe('fault abort', () => {
  it('aborts with the HTTP status for the configured share of requests', () => {
    const stats = new ListenerFilterStats('in');
    const f = new CompiledFault(fault({ abort: abort({ httpStatus: 503, percentage: 0.5 }) }), stats, sequence(0.1, 0.6, 0.49, 0.5));
    const { buf, out } = head();
    const results = [0, 1, 2, 3].map(() => f.abort(f.begin(buf, out))?.status ?? null);
    expect(results).toEqual([503, null, 503, null]);
  });

  it('answers a plain request with the status and "fault filter abort"', () => {
    const f = new CompiledFault(fault({ abort: abort({ httpStatus: 418 }) }), new ListenerFilterStats('in'));
    const { buf, out } = head();
    expect(f.abort(f.begin(buf, out))).toEqual({
      status: 418, body: 'fault filter abort', headers: 'content-type: text/plain\r\n', flag: ResponseFlag.FI,
    });
  });

  it('answers a gRPC request in the trailers-only form: 200, application/grpc, grpc-status, grpc-message', () => {
    const f = new CompiledFault(fault({ abort: abort({ grpcStatus: 14 }) }), new ListenerFilterStats('in'));
    const { buf, out } = head({ 'content-type': 'application/grpc+proto' });
    expect(f.abort(f.begin(buf, out))).toEqual({
      status: 200,
      body: '',
      headers: 'content-type: application/grpc\r\ngrpc-status: 14\r\ngrpc-message: fault filter abort\r\n',
      flag: ResponseFlag.FI,
    });
  });

  it('maps an HTTP abort status to a gRPC status for a gRPC request, as Envoy local replies do', () => {
    const f = new CompiledFault(fault({ abort: abort({ httpStatus: 503 }) }), new ListenerFilterStats('in'));
    const { buf, out } = head({ 'content-type': 'application/grpc' });
    expect(f.abort(f.begin(buf, out))?.headers).toContain('grpc-status: 14\r\n');
  });

  it('a gRPC abort of a request that is not gRPC is a plain 200, as in Envoy', () => {
    const f = new CompiledFault(fault({ abort: abort({ grpcStatus: 5 }) }), new ListenerFilterStats('in'));
    const { buf, out } = head({ 'content-type': 'application/json' });
    expect(f.abort(f.begin(buf, out))).toMatchObject({ status: 200, body: 'fault filter abort' });
  });
});

describe('header-controlled faults', () => {
  it('are ignored unless header_abort / header_delay are configured', () => {
    const { buf, out } = head({ [FaultHeader.ABORT]: '500', [FaultHeader.DELAY]: '300' });
    const none = new CompiledFault(fault({}), new ListenerFilterStats('in'));
    const run = none.begin(buf, out);
    expect(none.abort(run)).toBeNull();
    expect(none.delayMs(run)).toBe(0);
    const fixed = new CompiledFault(fault({ abort: abort({ httpStatus: 429 }), delay: delay({ fixedDelayMs: 20 }) }), new ListenerFilterStats('in'));
    const fixedRun = fixed.begin(buf, out);
    expect(fixed.abort(fixedRun)?.status).toBe(429);
    expect(fixed.delayMs(fixedRun)).toBe(20);
  });

  it('take the HTTP status (in [200, 600)), else the gRPC status, else nothing', () => {
    const f = new CompiledFault(fault({ abort: abort({ headerAbort: true }) }), new ListenerFilterStats('in'));
    const statusOf = (h: Record<string, string>) => {
      const { buf, out } = head(h);
      const a = f.abort(f.begin(buf, out));
      return a === null ? null : [a.status, a.headers];
    };
    expect(statusOf({ [FaultHeader.ABORT]: '504' })).toEqual([504, 'content-type: text/plain\r\n']);
    expect(statusOf({ [FaultHeader.ABORT]: '700', [FaultHeader.ABORT_GRPC]: '4', 'content-type': 'application/grpc' })).toEqual([
      200, 'content-type: application/grpc\r\ngrpc-status: 4\r\ngrpc-message: fault filter abort\r\n',
    ]);
    expect(statusOf({ [FaultHeader.ABORT]: 'nope' })).toBeNull();
    expect(statusOf({})).toBeNull();
  });

  it('take the delay from the header, and a header percentage capped by the configured one', () => {
    const f = new CompiledFault(fault({ delay: delay({ headerDelay: true, percentage: 0.5 }) }), new ListenerFilterStats('in'), sequence(0.3));
    const d = (h: Record<string, string>) => {
      const { buf, out } = head(h);
      return f.delayMs(f.begin(buf, out));
    };
    expect(d({ [FaultHeader.DELAY]: '250' })).toBe(250); // 0.3 < 0.5
    expect(d({ [FaultHeader.DELAY]: '250', [FaultHeader.DELAY_PERCENTAGE]: '20' })).toBe(0); // 0.3 >= 0.2
    expect(d({ [FaultHeader.DELAY]: '250', [FaultHeader.DELAY_PERCENTAGE]: '90' })).toBe(250); // capped at 0.5
    expect(d({})).toBe(0);
  });
});

describe('fault delay and active faults', () => {
  it('delays the configured share only', () => {
    const f = new CompiledFault(fault({ delay: delay({ fixedDelayMs: 40, percentage: 0.25 }) }), new ListenerFilterStats('in'), sequence(0.2, 0.3, 0.9, 0.0));
    const { buf, out } = head();
    expect([0, 1, 2, 3].map(() => f.delayMs(f.begin(buf, out)))).toEqual([40, 0, 0, 40]);
  });

  it('counts a delayed request as one active fault until the delay ends, then decides the abort', async () => {
    const stats = new ListenerFilterStats('in');
    const f = new CompiledFault(fault({ delay: delay({ fixedDelayMs: 10 }), abort: abort({ httpStatus: 503, percentage: 0.5 }) }), stats, sequence(0.9));
    const { buf, out } = head();
    const run = f.begin(buf, out);
    const elapsed = new Promise<void>((resolve) => expect(run.decide({ faultDelayElapsed: resolve })).toBeNull());
    expect(run.delaying).toBe(true);
    expect(stats).toMatchObject({ delaysInjected: 1, activeFaults: 1, abortsInjected: 0 });
    await elapsed;
    expect(run.afterDelay()).toBeNull(); // 0.9 >= 0.5: no abort
    expect(stats.activeFaults).toBe(0);
  });

  it('stops at max_active_faults (faults_overflow) and frees the slot when the request ends', () => {
    const stats = new ListenerFilterStats('in');
    const f = new CompiledFault(fault({ abort: abort({ httpStatus: 500 }), maxActiveFaults: 2 }), stats);
    const { buf, out } = head();
    const runs = [0, 1, 2].map(() => f.begin(buf, out));
    const answers = runs.map((r) => r.decide(noTarget));
    expect(answers.map((a) => a?.status ?? null)).toEqual([500, 500, null]);
    expect(stats).toMatchObject({ activeFaults: 2, abortsInjected: 2, faultsOverflow: 1 });
    runs[0]!.end();
    runs[0]!.end(); // twice: counted once
    expect(stats.activeFaults).toBe(1);
    expect(runs[2]!.decide(noTarget)?.status).toBe(500);
  });

  it('end() cancels a pending delay', async () => {
    const f = new CompiledFault(fault({ delay: delay({ fixedDelayMs: 5 }) }), new ListenerFilterStats('in'));
    const { buf, out } = head();
    const run = f.begin(buf, out);
    let fired = false;
    run.decide({ faultDelayElapsed: () => (fired = true) });
    run.end();
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(false);
    expect(f.stats.activeFaults).toBe(0);
  });
});

describe('fault headers matchers', () => {
  it('restrict the fault to requests matching all of them', () => {
    const m: HeaderMatcher[] = [
      { name: 'x-user', match: { kind: 'exact', value: 'tester', ignoreCase: false }, present: true, invert: false },
      { name: 'x-skip', match: null, present: false, invert: false },
    ];
    const f = new CompiledFault(fault({ abort: abort({ httpStatus: 500 }), headers: m }), new ListenerFilterStats('in'));
    expect(f.matches(view({ 'x-user': 'tester' }))).toBe(true);
    expect(f.matches(view({ 'x-user': 'other' }))).toBe(false);
    expect(f.matches(view({ 'x-user': 'tester', 'x-skip': '1' }))).toBe(false);
    expect(new CompiledFault(fault({}), new ListenerFilterStats('in')).matches(view({}))).toBe(true);
  });
});
