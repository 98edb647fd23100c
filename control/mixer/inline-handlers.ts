// Handlers that run on the gRPC thread instead of the adapter pool: those whose
// adapter declares them `inline` (pure, synchronous and bounded: the denier,
// a list with only its in-memory `overrides`). For them the pool's hop (a
// structured clone of the instances and a message each way between threads)
// cost more than the call itself: it was most of a Check's CPU. Handlers
// with I/O or state (memquota, a list with a providerUrl, plug-ins unless
// they say otherwise) stay on the pool, so a slow adapter still never blocks
// the gRPC thread.
import type { Logger } from '../../src/log.js';
import type { AdapterHandler, CheckResult, InstanceValue, QuotaArgs, QuotaResult } from './adapter.js';
import type { HandlerSpec } from './adapter-pool-protocol.js';
import { adapterByName } from './adapter-registry.js';

const INTERNAL = 13;

interface InlineHandler {
  readonly fingerprint: string;
  readonly handler: AdapterHandler;
}

/** An inline handler failed (threw, or answered asynchronously although it declared itself inline). */
export class InlineCallError extends Error {
  override readonly name = 'InlineCallError';
  readonly code = INTERNAL;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** takes a handler spec; returns true when its adapter says its handlers may run on the gRPC thread. */
export function runsInline(spec: HandlerSpec): boolean {
  const adapter = adapterByName(spec.adapter);
  if (adapter?.inline === undefined) return false;
  try {
    return adapter.inline(spec.params) === true;
  } catch {
    return false;
  }
}

export class InlineHandlers {
  private readonly handlers = new Map<string, InlineHandler>();

  constructor(private readonly log: Logger) {}

  has(name: string): boolean {
    return this.handlers.has(name);
  }

  /** takes the inline handlers of the new config; makes new and changed ones, closes the rest. Returns those that failed to start. */
  configure(specs: readonly HandlerSpec[]): { name: string; error: string }[] {
    const wanted = new Map(specs.map((s) => [s.name, s]));
    for (const [name, live] of this.handlers) {
      if (wanted.get(name)?.fingerprint === live.fingerprint) continue;
      this.handlers.delete(name);
      this.closeQuietly(name, live.handler);
    }
    const failures: { name: string; error: string }[] = [];
    for (const spec of specs) {
      if (this.handlers.has(spec.name)) continue;
      const adapter = adapterByName(spec.adapter);
      if (adapter === undefined) {
        failures.push({ name: spec.name, error: `no adapter named ${spec.adapter}` });
        continue;
      }
      try {
        const handler = adapter.createHandler(spec.params, { handlerName: spec.name, log: this.log.child({ handler: spec.name }) });
        this.handlers.set(spec.name, { fingerprint: spec.fingerprint, handler });
      } catch (err) {
        failures.push({ name: spec.name, error: message(err) });
      }
    }
    return failures;
  }

  /** takes an inline handler's name and its check instances; returns its answer. Throws InlineCallError. */
  check(name: string, instances: readonly InstanceValue[]): CheckResult {
    const handler = this.handlers.get(name)!.handler;
    if (handler.check === undefined) throw new InlineCallError(`handler ${name} does not answer checks`);
    // No closure per Check (this runs for every Check that reaches an inline handler).
    let result: CheckResult | Promise<CheckResult>;
    try {
      result = handler.check(instances);
    } catch (err) {
      throw new InlineCallError(`handler ${name} failed: ${message(err)}`);
    }
    return settledResult(name, result);
  }

  quota(name: string, instance: InstanceValue, args: QuotaArgs): QuotaResult {
    const handler = this.handlers.get(name)!.handler;
    if (handler.quota === undefined) throw new InlineCallError(`handler ${name} does not answer quotas`);
    return settled(name, () => handler.quota!(instance, args));
  }

  /** takes a report batch; hands it to the handler. Never throws (a failure is logged). */
  report(name: string, instances: readonly InstanceValue[]): void {
    const handler = this.handlers.get(name)!.handler;
    try {
      const done = handler.report?.(instances);
      if (done instanceof Promise) done.catch((err: unknown) => this.log.warn({ handler: name, err: message(err) }, 'policy report handler failed'));
    } catch (err) {
      this.log.warn({ handler: name, err: message(err) }, 'policy report handler failed');
    }
  }

  metricsTexts(): string[] {
    const texts: string[] = [];
    for (const [name, live] of this.handlers) {
      if (live.handler.metricsText === undefined) continue;
      try {
        texts.push(live.handler.metricsText());
      } catch (err) {
        this.log.warn({ handler: name, err: message(err) }, 'policy handler metrics failed');
      }
    }
    return texts;
  }

  close(): void {
    for (const [name, live] of this.handlers) this.closeQuietly(name, live.handler);
    this.handlers.clear();
  }

  private closeQuietly(name: string, handler: AdapterHandler): void {
    try {
      const done = handler.close();
      if (done instanceof Promise) done.catch((err: unknown) => this.log.warn({ handler: name, err: message(err) }, 'policy handler close failed'));
    } catch (err) {
      this.log.warn({ handler: name, err: message(err) }, 'policy handler close failed');
    }
  }
}

/** Runs an inline call: a throw, or a Promise (the adapter broke its `inline` promise), is an InlineCallError. */
function settled<T>(name: string, call: () => T | Promise<T>): T {
  let result: T | Promise<T>;
  try {
    result = call();
  } catch (err) {
    throw new InlineCallError(`handler ${name} failed: ${message(err)}`);
  }
  return settledResult(name, result);
}

/** takes an inline handler's answer; returns it, or throws InlineCallError when it is a Promise. */
function settledResult<T>(name: string, result: T | Promise<T>): T {
  if (result instanceof Promise) {
    result.catch(() => undefined);
    throw new InlineCallError(`handler ${name} is declared inline but answered asynchronously`);
  }
  return result;
}
