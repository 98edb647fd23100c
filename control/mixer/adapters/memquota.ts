// Istio's `memquota` adapter: per-quota limits kept in the control plane's
// memory, per set of dimension values (a quota instance's dimensions), with
// overrides for specific dimension values. A quota with validDuration > 0 is
// a rate limit over a rolling window; with 0 it is an allocation that is never
// released (Istio's ReleaseQuota is not part of Check). Requests carrying the
// same deduplication id within minDeduplicationDuration get the first answer
// again. The number of dimension keys is bounded (maxDimensionKeys): keys whose
// window is empty are dropped first; when all are in use a new key is refused
// rather than evicting a live one (evicting would let a client that sprays
// dimension values reset someone's limit).
import { createHash } from 'node:crypto';
import { AdapterParamError, type Adapter, type AdapterHandler, type HandlerContext, type InstanceValue, type QuotaArgs, type QuotaResult } from '../adapter.js';
import { fieldPath, readDurationMs, readList, readNumber, readObject, readString, readStringMap, rawField } from './adapter-params.js';
import { fieldMap, valueString } from './instance-fields.js';
import { RollingWindow } from './rolling-window.js';

export interface QuotaLimit {
  readonly maxAmount: number;
  readonly validDurationMs: number;
}

export interface QuotaOverride extends QuotaLimit {
  readonly dimensions: Readonly<Record<string, string>>;
}

export interface QuotaSpec extends QuotaLimit {
  readonly name: string;
  readonly overrides: readonly QuotaOverride[];
}

export interface MemQuotaParams {
  readonly quotas: readonly QuotaSpec[];
  readonly minDeduplicationDurationMs: number;
  /** Isthmus: the most dimension keys kept across the handler's quotas. */
  readonly maxDimensionKeys: number;
}

const MAX_AMOUNT = Number.MAX_SAFE_INTEGER;
const MAX_DEDUP_ENTRIES = 10_000;

function readLimit(obj: Readonly<Record<string, unknown>>, path: string): QuotaLimit {
  return {
    maxAmount: readNumber(obj, 'maxAmount', path, 0, { min: 0, max: MAX_AMOUNT, integer: true }),
    validDurationMs: readDurationMs(obj, 'validDuration', path, 0),
  };
}

export function parseMemQuotaParams(raw: unknown): MemQuotaParams {
  const p = readObject(raw, '', ['quotas', 'minDeduplicationDuration', 'maxDimensionKeys']);
  const names = new Set<string>();
  const quotas = readList(p, 'quotas', '', 1000).map((item, i): QuotaSpec => {
    const path = `quotas[${i}]`;
    const q = readObject(item, path, ['name', 'maxAmount', 'validDuration', 'overrides']);
    const name = readString(q, 'name', path, '');
    if (name === '') throw new AdapterParamError(fieldPath(path, 'name'), `${path}.name is required (the quota instance's name, e.g. requestcount.quota.istio-system)`);
    if (names.has(name)) throw new AdapterParamError(fieldPath(path, 'name'), `${path}.name "${name}" is given twice`);
    names.add(name);
    const overrides = readList(q, 'overrides', path, 1000).map((o, j): QuotaOverride => {
      const opath = `${path}.overrides[${j}]`;
      const override = readObject(o, opath, ['dimensions', 'maxAmount', 'validDuration']);
      if (rawField(override, 'maxAmount') === undefined) throw new AdapterParamError(fieldPath(opath, 'maxAmount'), `${opath}.maxAmount is required`);
      return { dimensions: readStringMap(override, 'dimensions', opath, 64), ...readLimit(override, opath) };
    });
    return { name, overrides, ...readLimit(q, path) };
  });
  return {
    quotas,
    minDeduplicationDurationMs: readDurationMs(p, 'minDeduplicationDuration', '', 1000),
    maxDimensionKeys: readNumber(p, 'maxDimensionKeys', '', 100_000, { min: 1, max: 10_000_000, integer: true }),
  };
}

interface Counter {
  readonly window: RollingWindow | null;
  allocated: number;
}

/** The quota state of one handler; `now` is injectable so window arithmetic can be tested with a fake clock. */
export class MemQuotaStore {
  private readonly specs = new Map<string, QuotaSpec>();
  private readonly counters = new Map<string, Counter>();
  private readonly dedup = new Map<string, { result: QuotaResult; expiresAt: number }>();
  private lastSweep = -Infinity;
  /** New dimension keys refused because maxDimensionKeys were all in use. */
  refusedKeys = 0;

  constructor(private readonly params: MemQuotaParams, private readonly now: () => number = Date.now) {
    for (const spec of params.quotas) {
      this.specs.set(spec.name, spec);
      // Istio names a quota "name.quota.namespace"; rules name the instance "name.namespace"
      const parts = spec.name.split('.');
      if (parts.length === 3 && parts[1] === 'quota') this.specs.set(`${parts[0]}.${parts[2]}`, spec);
    }
  }

  allocate(instance: InstanceValue, args: QuotaArgs): QuotaResult {
    const now = this.now();
    const dedupKey = args.deduplicationId === '' ? '' : `${instance.name}\u0000${args.deduplicationId}`;
    if (dedupKey !== '') {
      const seen = this.dedup.get(dedupKey);
      if (seen !== undefined && seen.expiresAt > now) return seen.result;
    }
    const result = this.grant(instance, args, now);
    if (dedupKey !== '') this.remember(dedupKey, result, now);
    return result;
  }

  private grant(instance: InstanceValue, args: QuotaArgs, now: number): QuotaResult {
    const spec = this.specs.get(instance.name);
    if (spec === undefined) return { grantedAmount: 0, validDurationMs: 0 };
    const dimensions = fieldMap(instance, 'dimensions');
    const limit = spec.overrides.find((o) => Object.entries(o.dimensions).every(([k, v]) => valueString(dimensions[k]) === v)) ?? spec;
    const key = `${spec.name}\u0000${Object.keys(dimensions)
      .sort()
      .map((k) => `${k}\u0001${valueString(dimensions[k])}`)
      .join('\u0000')}`;
    // dimension values come from requests: a long key is kept as its hash, so maxDimensionKeys bounds memory
    const counter = this.counterFor(key.length > 512 ? createHash('sha256').update(key).digest('base64') : key, limit, now);
    if (counter === null) return { grantedAmount: 0, validDurationMs: limit.validDurationMs };
    const used = counter.window === null ? counter.allocated : counter.window.used(now);
    const available = Math.max(0, limit.maxAmount - used);
    const amount = Math.max(0, args.amount);
    const granted = amount <= available ? amount : args.bestEffort ? available : 0;
    if (granted > 0) {
      if (counter.window === null) counter.allocated += granted;
      else counter.window.add(now, granted);
    }
    return { grantedAmount: granted, validDurationMs: limit.validDurationMs };
  }

  private counterFor(key: string, limit: QuotaLimit, now: number): Counter | null {
    const existing = this.counters.get(key);
    if (existing !== undefined) return existing;
    if (this.counters.size >= this.params.maxDimensionKeys && !this.sweep(now)) {
      this.refusedKeys++;
      return null;
    }
    const counter: Counter = { window: limit.validDurationMs > 0 ? new RollingWindow(limit.validDurationMs) : null, allocated: 0 };
    this.counters.set(key, counter);
    return counter;
  }

  /** Drops keys whose window holds nothing (at most once per 100 ms); returns true when there is room for a key. */
  private sweep(now: number): boolean {
    if (now - this.lastSweep >= 100) {
      this.lastSweep = now;
      for (const [key, counter] of this.counters) {
        if (counter.window !== null && counter.window.used(now) === 0) this.counters.delete(key);
      }
    }
    return this.counters.size < this.params.maxDimensionKeys;
  }

  private remember(key: string, result: QuotaResult, now: number): void {
    this.dedup.delete(key);
    if (this.dedup.size >= MAX_DEDUP_ENTRIES) {
      for (const [oldKey, entry] of this.dedup) {
        if (this.dedup.size < MAX_DEDUP_ENTRIES && entry.expiresAt > now) break;
        this.dedup.delete(oldKey);
      }
    }
    this.dedup.set(key, { result, expiresAt: now + this.params.minDeduplicationDurationMs });
  }

  get dimensionKeys(): number {
    return this.counters.size;
  }
}

class MemQuotaHandler implements AdapterHandler {
  constructor(readonly store: MemQuotaStore, private readonly context: HandlerContext) {}

  quota(instance: InstanceValue, args: QuotaArgs): QuotaResult {
    const before = this.store.refusedKeys;
    const result = this.store.allocate(instance, args);
    if (this.store.refusedKeys !== before && (this.store.refusedKeys & (this.store.refusedKeys - 1)) === 0) {
      this.context.log.warn({ handler: this.context.handlerName, refused: this.store.refusedKeys }, 'memquota dimension keys full: new keys refused');
    }
    return result;
  }

  close(): void {}
}

/** Takes validated params, a context and a clock; returns a memquota handler (tests pass a fake clock). */
export function createMemQuotaHandler(params: MemQuotaParams, context: HandlerContext, now: () => number = Date.now): AdapterHandler {
  return new MemQuotaHandler(new MemQuotaStore(params, now), context);
}

export const memquotaAdapter: Adapter = {
  name: 'memquota',
  templates: ['quota'],
  parseParams: parseMemQuotaParams,
  createHandler: (params, context) => createMemQuotaHandler(params as MemQuotaParams, context),
};
