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
import type { RateLimitPolicy } from '../../../src/config/rate-limit-actions.js';
import { LOCAL_RATE_LIMIT_FILTER_NAME } from '../../../src/config/http-filter-names.js';
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

/** A descriptor's entries and its bucket. */
export interface DescriptorBucket {
  readonly entries: readonly { readonly key: string; readonly value: string }[];
  readonly bucket: SharedTokenBucket;
}

export class LocalRateLimitFactory implements HttpFilterFactory {
  readonly name = LOCAL_RATE_LIMIT_FILTER_NAME;
  readonly plainReply: FilterAnswer;
  readonly grpcReply: FilterAnswer;
  /** The route's rate_limits (stage 0) when the config has descriptors to match them against; empty otherwise. */
  policies: readonly RateLimitPolicy[] = [];

  constructor(
    readonly config: LocalRateLimitConfig,
    /** The default bucket (token_bucket); null when only descriptors limit. */
    readonly bucket: SharedTokenBucket | null,
    readonly descriptors: readonly DescriptorBucket[],
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

  /** The same buckets and counters for a route whose rate_limits produce descriptors. */
  forRoute(policies: readonly RateLimitPolicy[]): LocalRateLimitFactory {
    const stage0 = policies.filter((p) => p.stage === 0);
    if (this.descriptors.length === 0 || stage0.length === 0) return this;
    const f = new LocalRateLimitFactory(this.config, this.bucket, this.descriptors, this.counters, this.random);
    f.policies = Object.freeze(stage0);
    return f;
  }

  /** The descriptor buckets this request's descriptors match (Envoy's exact entries; an empty configured value matches any). */
  matchedBuckets(head: Buffer, fields: Uint32Array): SharedTokenBucket[] {
    const matched: SharedTokenBucket[] = [];
    for (const policy of this.policies) {
      const entries: [string, string][] = [];
      let produced = true;
      for (const action of policy.actions) {
        if (action.kind === 'generic_key') {
          entries.push([action.descriptorKey, action.descriptorValue]);
          continue;
        }
        const value = findHeader(head, fields, action.headerName);
        if (value !== undefined) entries.push([action.descriptorKey, value]);
        else if (!action.skipIfAbsent) {
          produced = false; // Envoy: the whole descriptor is not generated
          break;
        }
      }
      if (!produced || entries.length === 0) continue;
      for (const d of this.descriptors) {
        if (d.entries.length !== entries.length) continue;
        let same = true;
        for (let i = 0; i < entries.length && same; i++) {
          const want = d.entries[i]!;
          same = want.key === entries[i]![0] && (want.value === '' || want.value === entries[i]![1]);
        }
        if (same) {
          if (!matched.includes(d.bucket)) matched.push(d.bucket);
          break;
        }
      }
    }
    return matched;
  }

  create(callbacks: HttpFilterCallbacks): LocalRateLimitFilter {
    return new LocalRateLimitFilter(this, callbacks);
  }

  count(field: number): void {
    Atomics.add(this.counters.ints, this.counters.base + field, 1);
  }
}

export class LocalRateLimitFilter extends PassThroughFilter {
  /** The bucket the x-ratelimit-* headers describe (a matched descriptor's, else the default); null when not consulted. */
  private applied: SharedTokenBucket | null = null;

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
    const now = Date.now();
    let allowed = true;
    let shown = f.bucket;
    if (f.policies.length > 0) {
      const matched = f.matchedBuckets(head, fields);
      for (let i = 0; i < matched.length && allowed; i++) allowed = matched[i]!.tryConsume(now);
      if (matched.length > 0) shown = matched[0]!;
      if (allowed && f.bucket !== null && (matched.length === 0 || config.alwaysConsumeDefault)) allowed = f.bucket.tryConsume(now);
    } else if (f.bucket !== null) {
      allowed = f.bucket.tryConsume(now);
    }
    this.applied = shown;
    if (allowed) {
      f.count(STAT.OK);
      return FilterStatus.CONTINUE;
    }
    f.count(STAT.RATE_LIMITED);
    if (config.enforced <= 0 || (config.enforced < 1 && f.random() >= config.enforced)) {
      // Shadow mode: the request goes on, marked for the upstream when configured.
      const adds = config.requestHeadersToAddWhenNotEnforced;
      for (let i = 0; i < adds.length; i++) {
        const h = adds[i]!;
        if (!h.append) this.callbacks.removeUpstreamRequestHeader(h.key);
        this.callbacks.addUpstreamRequestHeaders(`${h.key}: ${h.value}\r\n`);
      }
      return FilterStatus.CONTINUE;
    }
    f.count(STAT.ENFORCED);
    this.callbacks.sendLocalReply(isGrpcContentType(findHeader(head, fields, 'content-type')) ? f.grpcReply : f.plainReply);
    return FilterStatus.STOP_ITERATION;
  }

  override encodeHeaders(edit: ResponseHeaderEdit): void {
    const bucket = this.applied;
    if (bucket === null || !this.factory.config.xRateLimitHeaders) return;
    edit.add += `x-ratelimit-limit: ${bucket.maxTokens}\r\nx-ratelimit-remaining: ${bucket.remaining()}\r\nx-ratelimit-reset: ${bucket.secondsToNextFill(Date.now())}\r\n`;
  }
}
