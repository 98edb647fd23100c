// envoy.filters.http.local_ratelimit as a filter of the chain: on the head,
// for the filter_enabled share of requests, takes a token from the proxy-wide
// bucket (shared-state/rate-limit-buckets.ts); without one the request is
// rate limited, and for the filter_enforced share of those answered with the
// configured status (429), body `local_rate_limited` and flag RL (otherwise
// only counted: shadow mode). Counters are the shared
// <stat_prefix>.http_local_rate_limit.{enabled,enforced,rate_limited,ok}.
// With enable_x_ratelimit_headers the response carries x-ratelimit-limit,
// -remaining and -reset (DRAFT_VERSION_03).
import type { LocalRateLimitConfig } from '../../../src/config/local-rate-limit-config.js';
import { LOCAL_RATE_LIMIT_FILTER_NAME } from '../../../src/config/local-rate-limit-config.js';
import { findHeader } from '../../header-block.js';
import { ResponseFlag } from '../../response-flags.js';
import { STAT, type SharedTokenBucket } from '../../shared-state/rate-limit-buckets.js';
import { isGrpcContentType, localAnswer, type FilterAnswer } from '../filter-answer.js';
import { FilterStatus, PassThroughFilter, type HttpFilterCallbacks, type HttpFilterFactory, type ResponseHeaderEdit } from '../http-filter.js';

const BODY = 'local_rate_limited';

/** Where a filter config's counters live: a stat slot of the shared table, or a private record. */
export interface RateLimitCounters {
  readonly ints: Int32Array;
  readonly base: number;
}

export class LocalRateLimitFactory implements HttpFilterFactory {
  readonly name = LOCAL_RATE_LIMIT_FILTER_NAME;
  readonly plainReply: FilterAnswer;
  readonly grpcReply: FilterAnswer;

  constructor(
    readonly config: LocalRateLimitConfig,
    readonly bucket: SharedTokenBucket,
    readonly counters: RateLimitCounters,
    readonly random: () => number,
  ) {
    let extra = '';
    for (const h of config.responseHeadersToAdd) extra += `${h.key}: ${h.value}\r\n`;
    const plain = localAnswer(config.status, null, BODY, false, ResponseFlag.RL);
    const grpc = localAnswer(config.status, null, BODY, true, ResponseFlag.RL);
    this.plainReply = Object.freeze({ ...plain, headers: plain.headers + extra });
    this.grpcReply = Object.freeze({ ...grpc, headers: grpc.headers + extra });
  }

  create(callbacks: HttpFilterCallbacks): LocalRateLimitFilter {
    return new LocalRateLimitFilter(this, callbacks);
  }

  count(field: number): void {
    Atomics.add(this.counters.ints, this.counters.base + field, 1);
  }
}

export class LocalRateLimitFilter extends PassThroughFilter {
  /** The bucket was consulted: the response may carry the x-ratelimit-* headers. */
  private applied = false;

  constructor(
    private readonly factory: LocalRateLimitFactory,
    private readonly callbacks: HttpFilterCallbacks,
  ) {
    super();
  }

  decodeHeaders(head: Buffer, fields: Uint32Array): FilterStatus {
    const f = this.factory;
    const config = f.config;
    if (config.enabled <= 0 || (config.enabled < 1 && f.random() >= config.enabled)) return FilterStatus.CONTINUE;
    f.count(STAT.ENABLED);
    this.applied = true;
    if (f.bucket.tryConsume(Date.now())) {
      f.count(STAT.OK);
      return FilterStatus.CONTINUE;
    }
    f.count(STAT.RATE_LIMITED);
    if (config.enforced <= 0 || (config.enforced < 1 && f.random() >= config.enforced)) return FilterStatus.CONTINUE;
    f.count(STAT.ENFORCED);
    this.callbacks.sendLocalReply(isGrpcContentType(findHeader(head, fields, 'content-type')) ? f.grpcReply : f.plainReply);
    return FilterStatus.STOP_ITERATION;
  }

  override encodeHeaders(edit: ResponseHeaderEdit): void {
    if (!this.applied || !this.factory.config.xRateLimitHeaders) return;
    const bucket = this.factory.bucket;
    edit.add += `x-ratelimit-limit: ${bucket.maxTokens}\r\nx-ratelimit-remaining: ${bucket.remaining()}\r\nx-ratelimit-reset: ${bucket.secondsToNextFill(Date.now())}\r\n`;
  }
}
