// The control plane's policy runtime: the adapter pool, the rules in force,
// and the metrics, kept in step with the config store. On every config change
// the policy (handler, instance and rule resources, already validated by the
// store) is compiled again; the pool gets the new handlers (unchanged ones
// keep their state) and then the new dispatcher replaces the old in one
// reference write, so a Check in flight finishes with the rules it began with.
// If the new policy cannot be loaded, the old rules keep answering.
import type { Logger } from '../../src/log.js';
import type { AttributeBag } from '../../src/policy/attribute-value.js';
import type { ConfigStore } from '../store/config-store.js';
import { AdapterPool, type HandlerSpec } from './adapter-pool.js';
import { RuleDispatcher, type CheckAnswer, type DispatchRule, type QuotaRequest } from './rule-dispatch.js';
import { MixerMetrics, type CheckService } from './mixer-metrics.js';
import { StatusCode } from './adapter.js';
import { WorkloadAttributeBag } from './workload-attribute-bag.js';
import type { WorkloadDirectory } from './workload-directory.js';

/** The policy the dispatcher runs: compiled rules and the handlers they call. */
export interface DispatchPolicy {
  readonly rules: readonly DispatchRule[];
  readonly handlers: readonly HandlerSpec[];
  /** Changes whenever a handler, instance or rule resource does (a reload with the same key does nothing). */
  readonly key: string;
  /** References that did not resolve (logged; the rest of the policy applies). */
  readonly problems?: readonly { readonly rule: string; readonly message: string }[];
  /** Some rule reads a source workload attribute (source.labels, ...): Checks and Reports get them from the registry. */
  readonly readsWorkload?: boolean;
}

/** takes the store's served resources; returns the policy in them. Throws (with a message naming the resource) when it cannot be compiled. */
export type PolicyLoader = (store: ConfigStore) => DispatchPolicy;

export interface PolicyRuntimeOptions {
  readonly store: ConfigStore;
  readonly load: PolicyLoader;
  readonly log: Logger;
  readonly threads?: number;
  readonly maxQueue?: number;
  readonly handlerTimeoutMs?: number;
  readonly plugins?: readonly string[];
  readonly logLevel?: string;
  /** The registry's workloads, for source.labels, source.workload.name, ... (absent: those stay absent). */
  readonly workloads?: WorkloadDirectory;
}

export class PolicyRuntime {
  readonly metrics = new MixerMetrics();
  private readonly pool: AdapterPool;
  private dispatcher: RuleDispatcher;
  private policyKey = '';
  private handlerCount = 0;
  /** Set with the dispatcher: whether the rules in force read a source workload attribute. */
  private readsWorkload = false;
  private reloading: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;

  private constructor(private readonly options: PolicyRuntimeOptions) {
    this.pool = new AdapterPool({
      threads: options.threads, maxQueue: options.maxQueue, handlerTimeoutMs: options.handlerTimeoutMs,
      plugins: options.plugins, logLevel: options.logLevel, log: options.log,
    });
    this.dispatcher = new RuleDispatcher([], this.pool);
  }

  /** takes the store and how to read policy from it; resolves once the current policy is in force. */
  static async start(options: PolicyRuntimeOptions): Promise<PolicyRuntime> {
    const runtime = new PolicyRuntime(options);
    // Subscribed first: a change that lands while the first load runs is loaded after it, not missed.
    runtime.unsubscribe = options.store.subscribe(() => {
      void runtime.reload();
    });
    await runtime.reload();
    return runtime;
  }

  /** Reloads one at a time, in change order; resolves when this reload is done. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadNow());
    return this.reloading;
  }

  private async reloadNow(): Promise<void> {
    const log = this.options.log;
    let policy: DispatchPolicy;
    try {
      policy = this.options.load(this.options.store);
    } catch (err) {
      this.metrics.reloadFailures++;
      log.error({ err: (err as Error).message }, 'policy not reloaded: the previous rules keep answering');
      return;
    }
    if (policy.key === this.policyKey) return;
    for (const p of policy.problems ?? []) log.warn({ resource: p.rule }, `policy: ${p.rule}: ${p.message}`);
    try {
      const failures = await this.pool.configure(policy.handlers);
      for (const f of failures) log.error({ handler: f.name, err: f.error }, 'policy handler could not start; Checks that reach it are denied');
    } catch (err) {
      this.metrics.reloadFailures++;
      log.error({ err: (err as Error).message }, 'policy handlers not reloaded: the previous rules keep answering');
      return;
    }
    this.dispatcher = new RuleDispatcher(policy.rules, this.pool);
    this.readsWorkload = policy.readsWorkload === true && this.options.workloads !== undefined;
    this.policyKey = policy.key;
    this.handlerCount = policy.handlers.length;
    log.info({ rules: policy.rules.length, handlers: policy.handlers.length }, 'policy loaded');
  }

  /** The registry's workloads (null: none given): ext_authz names a destination by its address alone. */
  get workloads(): WorkloadDirectory | null {
    return this.options.workloads ?? null;
  }

  /** takes a request's attributes and quotas; resolves with the answer. Throws PoolFullError when the pool pushes back. */
  check(bag: AttributeBag, quotas: ReadonlyMap<string, QuotaRequest>, deduplicationId: string): Promise<CheckAnswer> {
    return this.dispatcher.check(this.withWorkload(bag), quotas, deduplicationId);
  }

  /** check() answered at once when no handler needs a wait (RuleDispatcher.checkNow). Throws PoolFullError. */
  checkNow(bag: AttributeBag, quotas: ReadonlyMap<string, QuotaRequest>, deduplicationId: string): CheckAnswer | Promise<CheckAnswer> {
    return this.dispatcher.checkNow(this.withWorkload(bag), quotas, deduplicationId);
  }

  /** The bag with the source workload's attributes, when the rules read any (else the bag itself: no allocation). */
  private withWorkload(bag: AttributeBag): AttributeBag {
    return this.readsWorkload ? new WorkloadAttributeBag(bag, this.options.workloads!) : bag;
  }

  /** takes a Report batch; hands it to the report handlers without waiting. */
  report(bags: readonly AttributeBag[]): void {
    this.metrics.reportBatches++;
    this.metrics.reports += bags.length;
    this.dispatcher.report(this.readsWorkload ? bags.map((bag) => this.withWorkload(bag)) : bags);
  }

  /** Counts one answered Check (answer null: the pool pushed back or it failed) and its latency since `started` (performance.now() ms). */
  countCheck(service: CheckService, answer: CheckAnswer | null, started: number): void {
    const seconds = (performance.now() - started) / 1000;
    if (answer !== null && answer.quotas.size > 0) {
      for (const q of answer.quotas.values()) if (q.code === StatusCode.RESOURCE_EXHAUSTED) this.metrics.quotaExhausted++;
    }
    this.metrics.countCheck(service, answer === null ? 'unavailable' : answer.code === StatusCode.OK ? 'ok' : 'denied', seconds);
  }

  /** The runtime's metrics and the handlers' own (the prometheus adapter's), for the control plane's /metrics. */
  metricsText(): string {
    return this.metrics.render({ queueSize: this.pool.queueSize(), droppedReports: this.pool.droppedReports, rules: this.dispatcher.ruleCount, handlers: this.handlerCount })
      + this.pool.metricsText();
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    await this.reloading.catch(() => undefined);
    await this.pool.close();
  }
}
