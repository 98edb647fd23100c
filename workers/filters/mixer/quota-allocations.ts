// Quota prefetch (Istio's mixer client idea), held by the agent for every
// worker of the proxy: a quota Check asks the server for more than the
// request's charge with best_effort, keeps what it granted beyond the charge
// as a local allocation (per quota name and dimension key: the values of the
// attributes the server's quota answer referenced), serves later requests
// from it until the grant's valid_duration passes, and asks again in the
// background when it runs low. Never more than the server granted is handed
// out. When the server refuses (grants less than the charge), requests for
// that key are refused locally until the answer's window passes; then the
// next request asks again. In the agent rather than per worker: one pool per
// proxy, so two workers never hold units the other needs (quota 3 means the
// first 3 requests pass, whichever worker takes them).
import type { WireAttributeValue } from '../../../src/config/mixer-filter-config.js';
import type { CheckCall, CheckOutcome, RefMatch } from './policy-transport.js';

/** Bounds: keys held (least recently made go first), units asked for at once. */
const MAX_ALLOCATIONS = 10_000;
const PREFETCH_MIN = 8;
const PREFETCH_MAX = 1024;
/** A refusal without a valid_duration holds this long. */
const DEFAULT_REFUSAL_MS = 1000;

interface Allocation {
  available: number;
  /** The units expire with the grant (the earliest of the grants they came from). */
  expiresAt: number;
  /** After a refusal: requests are refused locally until then (unless units are left). */
  refusedUntil: number;
  refilling: boolean;
  /** Units asked for next time: doubles while allocations run out before they expire. */
  prefetch: number;
}

/** Sends a Check RPC (the agent's retries and fail policy included). */
export type QuotaRpc = (call: CheckCall, done: (outcome: CheckOutcome) => void) => void;

export class QuotaAllocations {
  private readonly allocations = new Map<string, Allocation>();
  /** Per target and quota name: the attributes its last answer referenced (the dimension key's parts). */
  private readonly dimensions = new Map<string, readonly RefMatch[]>();

  constructor(
    private readonly rpc: QuotaRpc,
    private readonly now: () => number = Date.now,
  ) {}

  /** Answers a quota call: from the allocations when they cover every quota, else by a Check asking ahead. */
  check(call: CheckCall, done: (outcome: CheckOutcome) => void): void {
    const now = this.now();
    const keys = call.quotas.map((q) => this.keyOf(call, q.name));
    let refused: string | null = null;
    let covered = true;
    for (let i = 0; i < call.quotas.length; i++) {
      const a = this.live(keys[i]!, now);
      if (a !== undefined && a.available >= call.quotas[i]!.amount) continue;
      covered = false;
      if (a !== undefined && a.refusedUntil > now) refused = call.quotas[i]!.name;
    }
    if (refused !== null) {
      done(localAnswer(call, refused));
      return;
    }
    // Without a cached precondition the server is asked (deny rules are checked); its grant refills the allocation.
    if (covered && call.quotaOnly === true) {
      for (let i = 0; i < call.quotas.length; i++) {
        const a = this.allocations.get(keys[i]!)!;
        a.available -= call.quotas[i]!.amount;
        // Not while a refusal holds: the server said no until then.
        if (a.available < a.prefetch / 4 && !a.refilling && a.refusedUntil <= now) this.refill(call, i, keys[i]!, a);
      }
      done(localAnswer(call, null));
      return;
    }
    // Ask for the charge plus a prefetch, best effort: what is granted beyond the charge is kept.
    const asked = call.quotas.map((q, i) => ({ name: q.name, amount: q.amount + (this.allocations.get(keys[i]!)?.prefetch ?? PREFETCH_MIN), bestEffort: true }));
    this.rpc({ ...call, quotas: asked }, (outcome) => {
      if (!outcome.ok) {
        done(outcome);
        return;
      }
      const at = this.now();
      const grants = outcome.quotas.map((g) => ({ ...g, granted: g.granted }));
      for (let i = 0; i < call.quotas.length; i++) {
        const want = call.quotas[i]!;
        const g = grants.find((x) => x.name === want.name);
        if (g === undefined) continue;
        this.learn(call.target, want.name, g.refs);
        const key = this.keyOf(call, want.name);
        const enough = g.code === 0 && g.granted >= want.amount && outcome.code === 0;
        // The request takes its charge from the grant; the rest is the allocation.
        this.keep(key, enough ? g.granted - want.amount : g.granted, g.validMs, at, !enough && g.granted < want.amount);
        g.granted = enough ? want.amount : 0;
      }
      done({ ...outcome, quotas: grants });
    });
  }

  /** Asks ahead in the background for quota `i` of `call` (no request waits for it). */
  private refill(call: CheckCall, i: number, key: string, a: Allocation): void {
    a.refilling = true;
    const name = call.quotas[i]!.name;
    this.rpc({ ...call, key: '', quotas: [{ name, amount: a.prefetch, bestEffort: true }] }, (outcome) => {
      a.refilling = false;
      if (!outcome.ok || outcome.code !== 0) return;
      const g = outcome.quotas.find((x) => x.name === name);
      if (g === undefined) return;
      this.learn(call.target, name, g.refs);
      this.keep(key, g.code === 0 ? g.granted : 0, g.validMs, this.now(), g.code !== 0 || g.granted === 0);
    });
  }

  private keep(key: string, units: number, validMs: number, now: number, refused: boolean): void {
    let a = this.allocations.get(key);
    if (a === undefined) {
      if (this.allocations.size >= MAX_ALLOCATIONS) this.allocations.delete(this.allocations.keys().next().value!);
      a = { available: 0, expiresAt: 0, refusedUntil: 0, refilling: false, prefetch: PREFETCH_MIN };
      this.allocations.set(key, a);
    }
    if (a.expiresAt <= now) {
      // What was left has expired (or there was none): a run-out before expiry asks for more next time.
      a.available = 0;
    } else if (a.available === 0) a.prefetch = Math.min(PREFETCH_MAX, a.prefetch * 2);
    if (refused) {
      a.refusedUntil = now + (validMs > 0 ? validMs : DEFAULT_REFUSAL_MS);
      return;
    }
    a.refusedUntil = 0;
    if (units <= 0 || validMs <= 0) return;
    const until = now + validMs;
    a.expiresAt = a.available > 0 ? Math.min(a.expiresAt, until) : until;
    a.available += units;
  }

  /** The allocation of `key` with expired units dropped (a refusal window outlives them). */
  private live(key: string, now: number): Allocation | undefined {
    const a = this.allocations.get(key);
    if (a !== undefined && a.expiresAt <= now) a.available = 0;
    return a;
  }

  private learn(target: string, name: string, refs: readonly RefMatch[]): void {
    const id = `${target}\u0000${name}`;
    if (this.dimensions.size >= MAX_ALLOCATIONS && !this.dimensions.has(id)) return;
    this.dimensions.set(id, refs);
  }

  /** Quota name plus the values of the attributes its last answer referenced (none learnt yet: the name alone). */
  private keyOf(call: CheckCall, name: string): string {
    let key = `${call.target}\u0000${name}`;
    const refs = this.dimensions.get(key);
    if (refs === undefined) return key;
    const attributes = call.attributes.attributes;
    for (let i = 0; i < refs.length; i++) key += `\u0001${valueText(attributes[refs[i]!.name], refs[i]!.mapKey)}`;
    return key;
  }
}

/** An answer from the allocations: quota granted (or refused for `refusedName`), the precondition not re-checked. */
function localAnswer(call: CheckCall, refusedName: string | null): CheckOutcome {
  return {
    ok: true, code: 0, message: '', validMs: 0, validUses: 0, refs: [],
    quotas: call.quotas.map((q) => ({
      name: q.name,
      granted: refusedName === q.name ? 0 : q.amount,
      code: refusedName === q.name ? 8 : 0,
      message: refusedName === q.name ? `Quota is exhausted for: ${q.name}` : '',
      validMs: 0,
      refs: [],
    })),
    sharedBy: 1,
    first: false,
  };
}

/** A wire value's text in a dimension key ('A' absent); a map key reads one entry. */
function valueText(w: WireAttributeValue | undefined, mapKey: string): string {
  if (w === undefined) return 'A';
  const v = w as Record<string, unknown>;
  if (mapKey !== '') {
    const entries = (v.string_map_value as { entries?: Record<string, string> } | undefined)?.entries;
    const e = entries?.[mapKey];
    return e === undefined ? 'A' : `s${e.length}:${e}`;
  }
  if (typeof v.string_value === 'string') return `s${v.string_value.length}:${v.string_value}`;
  if (v.int64_value !== undefined) return `n${String(v.int64_value)}`;
  if (v.bool_value !== undefined) return v.bool_value === true ? 'T' : 'F';
  // Rare as a whole dimension (maps, times, bytes): a stable text.
  return `j${JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x))}`;
}
