// isthmus.filters.http.mixer as a filter of the chain (Istio's mixer client
// filter): on the head, unless disable_check_calls, the request's check
// attributes are looked up in the check cache (check-cache.ts); a hit decides
// at once, a miss stops the chain for a Check through the agent. A request
// carrying quota always asks the agent, which serves it from its prefetched
// allocations when the precondition came from the cache (quota-allocations.ts). A denial is a
// local reply as Istio's filter answered it: `<CODE_NAME>:<message>` with the
// HTTP status of the gRPC code (PERMISSION_DENIED 403, RESOURCE_EXHAUSTED
// 429, ...). When the policy server does not answer (after the agent's
// retries): FAIL_OPEN lets the request through, FAIL_CLOSE answers 503
// `UNAVAILABLE:...`. When the request is over its report attributes go to
// this worker's Report batch.
import { createHash, randomUUID } from 'node:crypto';
import type { MixerFilterConfig } from '../../../src/config/mixer-filter-config.js';
import { MIXER_FILTER_NAME } from '../../../src/config/http-filter-names.js';
import { headerValueForMatch } from '../../../src/routing/request-view.js';
import { headerList } from '../../header-block.js';
import { ResponseFlag } from '../../response-flags.js';
import { isGrpcContentType, localAnswer } from '../filter-answer.js';
import { FilterStatus, PassThroughFilter, type HttpFilterCallbacks, type HttpFilterFactory, type ResponseHeaderEdit } from '../http-filter.js';
import type { CheckCache } from './check-cache.js';
import { MIXER_COUNTER } from './mixer-counters.js';
import { policyTransport, type CheckCall, type CheckOutcome } from './policy-transport.js';
import type { ReportBatcher } from './report-batcher.js';
import { ReportPlan } from './report-encoder.js';
import { RequestAttributeBag, computedType, headAttributes, type AttributeSource, type ListenerAttributes } from './request-attribute-bag.js';

/** google.rpc.Code names and the HTTP status Istio's filter answered with. */
const CODES: readonly [string, number][] = [
  ['OK', 200], ['CANCELLED', 499], ['UNKNOWN', 500], ['INVALID_ARGUMENT', 400], ['DEADLINE_EXCEEDED', 504], ['NOT_FOUND', 404],
  ['ALREADY_EXISTS', 409], ['PERMISSION_DENIED', 403], ['RESOURCE_EXHAUSTED', 429], ['FAILED_PRECONDITION', 400], ['ABORTED', 409],
  ['OUT_OF_RANGE', 400], ['UNIMPLEMENTED', 501], ['INTERNAL', 500], ['UNAVAILABLE', 503], ['DATA_LOSS', 500], ['UNAUTHENTICATED', 401],
];
const RESOURCE_EXHAUSTED = 8;
const UNAVAILABLE = 14;
/** Beyond the agent's own deadline and retries, a reply that never comes still ends the wait. */
const SAFETY_MARGIN_MS = 1000;

export class MixerFilterFactory implements HttpFilterFactory {
  readonly name = MIXER_FILTER_NAME;
  /** check_attributes plus the static ones: what a Check carries. */
  readonly checkNames: readonly string[];
  readonly reportNames: readonly string[];
  /** How a finished request's report attributes are encoded (null with Report off). */
  readonly reportPlan: ReportPlan | null;
  /** Report attributes read from the header block: memoized at the head, which is released before onDestroy. */
  readonly reportFromHead: readonly string[];
  readonly quotaRequest: readonly { readonly name: string; readonly amount: number }[];
  readonly waitLimitMs: number;

  constructor(
    readonly config: MixerFilterConfig,
    readonly listener: ListenerAttributes,
    readonly cache: CheckCache,
    readonly batcher: ReportBatcher | null,
    readonly counters: Int32Array,
  ) {
    const statics = config.mixerAttributes.map((a) => a.name);
    this.checkNames = Object.freeze([...new Set([...config.checkAttributes, ...statics])]);
    this.reportNames = Object.freeze([...new Set([...config.reportAttributes, ...statics])]);
    this.reportPlan = batcher === null ? null : new ReportPlan(this.reportNames, listener.statics, computedType);
    this.reportFromHead = batcher === null ? [] : headAttributes(this.reportNames.filter((n) => !listener.statics.has(n)));
    this.quotaRequest = Object.freeze(config.quotas.map((q) => ({ name: q.quota, amount: q.charge })));
    let wait = config.checkTimeoutMs;
    for (let i = 0, backoff = config.baseRetryWaitMs; i < config.maxRetry; i++, backoff = Math.min(backoff * 2, config.maxRetryWaitMs)) wait += backoff + config.checkTimeoutMs;
    this.waitLimitMs = wait + SAFETY_MARGIN_MS;
  }

  create(callbacks: HttpFilterCallbacks): MixerFilter {
    return new MixerFilter(this, callbacks);
  }

  count(slot: number): void {
    Atomics.add(this.counters, slot, 1);
  }
}

export class MixerFilter extends PassThroughFilter {
  private readonly bag: RequestAttributeBag;
  private waiting = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly factory: MixerFilterFactory,
    private readonly callbacks: HttpFilterCallbacks,
  ) {
    super();
    // ActiveRequest is every request's HttpFilterCallbacks and carries the connection facts the bag reads.
    this.bag = new RequestAttributeBag(callbacks as unknown as AttributeSource, factory.listener);
  }

  decodeHeaders(_head: Buffer, _fields: Uint32Array): FilterStatus {
    const f = this.factory;
    const config = f.config;
    for (let i = 0; i < f.reportFromHead.length; i++) this.bag.get(f.reportFromHead[i]!);
    if (config.disableCheckCalls) return FilterStatus.CONTINUE;
    const quotas = f.quotaRequest.length > 0;
    // A quota request reads the cache for its precondition too; its quota comes from the agent's allocations.
    const hit = f.cache.lookup(this.bag, Date.now());
    if (hit !== null) {
      f.count(MIXER_COUNTER.CHECK_CACHE_HITS);
      if (hit.code !== 0) {
        f.count(MIXER_COUNTER.CHECK_DENIED);
        this.deny(hit.code, hit.message);
        return FilterStatus.STOP_ITERATION;
      }
      if (!quotas) return FilterStatus.CONTINUE;
    } else f.count(MIXER_COUNTER.CHECK_CACHE_MISSES);
    if (quotas) f.count(MIXER_COUNTER.QUOTA_CALLS);
    // The agent finds the server: '' is the control plane, else the check cluster's first endpoint.
    const target = config.checkCluster;
    const attributes = this.bag.wireAttributes(f.checkNames);
    const call: CheckCall = {
      target,
      // Identical requests (same check attributes) share one RPC; a quota call is charged for itself alone.
      key: quotas ? '' : keyOf(target, attributes),
      attributes: { attributes },
      quotas: f.quotaRequest,
      deduplicationId: quotas ? randomUUID() : '',
      quotaOnly: hit !== null,
      timeoutMs: config.checkTimeoutMs,
      maxRetry: config.maxRetry,
      baseRetryWaitMs: config.baseRetryWaitMs,
      maxRetryWaitMs: config.maxRetryWaitMs,
    };
    f.count(MIXER_COUNTER.CHECK_CALLS);
    this.waiting = true;
    this.timer = setTimeout(checkTimedOut, f.waitLimitMs, this);
    policyTransport().check(call, (outcome) => this.onCheck(outcome));
    return FilterStatus.STOP_ITERATION;
  }

  /** The agent answered (or gave up). */
  onCheck(outcome: CheckOutcome): void {
    if (!this.waiting) return;
    this.waiting = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.callbacks.finished) return;
    if (!outcome.ok) {
      this.failed(outcome.error);
      if (!this.callbacks.finished) this.callbacks.continueDecoding();
      return;
    }
    const f = this.factory;
    f.cache.store(outcome, this.bag, Date.now());
    if (outcome.code !== 0) {
      f.count(MIXER_COUNTER.CHECK_DENIED);
      this.deny(outcome.code, outcome.message);
      return;
    }
    for (const want of f.quotaRequest) {
      const grant = outcome.quotas.find((q) => q.name === want.name);
      if (grant === undefined || grant.code !== 0 || grant.granted < want.amount) {
        f.count(MIXER_COUNTER.QUOTA_EXHAUSTED);
        this.deny(RESOURCE_EXHAUSTED, grant?.message || `Quota is exhausted for: ${want.name}`);
        return;
      }
    }
    this.callbacks.continueDecoding();
  }

  /** No answer within the wait limit (the agent always answers first unless it is stuck). */
  timedOut(): void {
    this.onCheck({ ok: false, error: 'no answer from the agent' });
  }

  /** The policy server did not answer: the fail policy decides. */
  private failed(error: string): void {
    const f = this.factory;
    if (f.config.failPolicy === 'FAIL_CLOSE') {
      f.count(MIXER_COUNTER.FAIL_CLOSED);
      this.deny(UNAVAILABLE, error);
      return;
    }
    f.count(MIXER_COUNTER.FAIL_OPEN);
  }

  private deny(code: number, message: string): void {
    const [name, status] = CODES[code] ?? ['UNKNOWN', 500];
    // Only a denial needs to know whether the request is gRPC (a trailers-only answer then).
    const grpc = isGrpcContentType(headerValueForMatch(this.callbacks, 'content-type') ?? undefined);
    this.callbacks.sendLocalReply(localAnswer(status, code, `${name}:${message}`, grpc, ResponseFlag.UAEX));
  }

  override encodeHeaders(edit: ResponseHeaderEdit): void {
    if (edit.head !== null && edit.fields !== null && this.factory.batcher !== null && this.factory.reportNames.includes('response.headers')) {
      const list = headerList(edit.head, edit.fields);
      const map = Object.create(null) as Record<string, string>;
      for (let i = 0; i < list.length; i += 2) map[list[i]!] = map[list[i]!] === undefined ? list[i + 1]! : `${map[list[i]!]},${list[i + 1]!}`;
      this.bag.responseHeaders = map;
    }
  }

  override onDestroy(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting = false;
    const f = this.factory;
    if (f.batcher === null) return;
    this.bag.responded = true;
    if (f.batcher.add(f.reportPlan!, this.bag, f.counters)) f.count(MIXER_COUNTER.REPORT_ENTRIES);
  }
}

function checkTimedOut(filter: MixerFilter): void {
  filter.timedOut();
}

/** The key identical concurrent Checks share at the agent: every check attribute's value. */
function keyOf(target: string, attributes: Record<string, unknown>): string {
  const h = createHash('sha256').update(target);
  for (const name of Object.keys(attributes).sort()) h.update(`\u0000${name}\u0000${JSON.stringify(attributes[name], (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v))}`);
  return h.digest('base64');
}
