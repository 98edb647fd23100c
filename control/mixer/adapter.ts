// The plug-in interface of a policy adapter (Istio's Mixer adapters): a
// handler's config schema, and check / quota / report over instances that the
// rules built from a request's attributes. An operator adds an adapter by
// exporting one Adapter object and registering it (README, "Writing a policy
// adapter"). Handlers run on the control plane's adapter pool (piscina): a
// handler may block or wait without slowing the gRPC thread.
import type { ValueType } from '../../src/policy/attribute-value.js';

/** The instance templates (config.istio.io/v1alpha2 `instance` kinds). */
export type TemplateKind = 'checknothing' | 'listentry' | 'quota' | 'metric' | 'logentry' | 'authorization';

/**
 * An instance evaluated for one request: its fields are the values of the instance's expressions
 * (listentry: { value }, quota/metric: { value?, dimensions }, logentry: { severity, timestamp, variables },
 * authorization: { subject, action }, checknothing: {}).
 */
export interface InstanceValue {
  /** The instance's full name (name.namespace, as rules name it). */
  readonly name: string;
  readonly template: TemplateKind;
  readonly fields: Readonly<Record<string, unknown>>;
  /**
   * The ValueType of a field when the dispatcher knows it, keyed by its path ("value", "dimensions.code",
   * "variables.latency"): a DURATION and a TIMESTAMP are both numbers of milliseconds in `fields`, and an adapter
   * that writes them out (fluentd's integerDuration, prometheus seconds) needs to tell them apart. Optional.
   */
  readonly valueTypes?: Readonly<Record<string, ValueType>>;
}

/** google.rpc.Code values the adapters answer with. */
export const StatusCode = { OK: 0, INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14 } as const;

export interface CheckResult {
  readonly code: number;
  readonly message: string;
  /** How long the proxy may reuse this answer, and for how many requests. */
  readonly validDurationMs: number;
  readonly validUseCount: number;
}

export interface QuotaArgs {
  readonly amount: number;
  readonly bestEffort: boolean;
  readonly deduplicationId: string;
}

export interface QuotaResult {
  readonly grantedAmount: number;
  readonly validDurationMs: number;
}

/** What a handler may use: a pino-shaped logger bound to the handler's name. */
export interface HandlerContext {
  readonly handlerName: string;
  readonly log: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

/** One configured handler (a `handler` resource), made by its adapter from validated params. */
export interface AdapterHandler {
  check?(instances: readonly InstanceValue[]): CheckResult | Promise<CheckResult>;
  quota?(instance: InstanceValue, args: QuotaArgs): QuotaResult | Promise<QuotaResult>;
  report?(instances: readonly InstanceValue[]): void | Promise<void>;
  /** Prometheus text for the control plane's /metrics (the prometheus adapter); others leave it out. */
  metricsText?(): string;
  close(): void | Promise<void>;
}

/** Thrown by parseParams: the field path inside `params` (e.g. "overrides[1].maxAmount") and what is wrong. */
export class AdapterParamError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

export interface Adapter {
  /** The `compiledAdapter` / `adapter` name a handler uses (denier, list, memquota, prometheus, stdio, statsd, fluentd). */
  readonly name: string;
  /** The templates its handlers accept. */
  readonly templates: readonly TemplateKind[];
  /** takes a handler's raw `params`; returns them validated (plain, structured-clonable data), or throws AdapterParamError. */
  parseParams(raw: unknown): unknown;
  /** takes validated params; returns a live handler (called in the adapter pool's thread, or on the gRPC thread when `inline`). */
  createHandler(params: unknown, context: HandlerContext): AdapterHandler;
  /**
   * takes validated params; returns true when their handler may run on the control plane's gRPC thread instead of
   * the adapter pool: its check/quota/report are pure, synchronous and bounded (no I/O, no timers, no state that
   * must be shared with other threads), e.g. the denier. Saves the pool's hop per call. Left out: the pool.
   */
  inline?(params: unknown): boolean;
}
