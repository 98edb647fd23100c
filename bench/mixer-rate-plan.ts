// How `npm run bench:mixer` reaches its --rate open-loop with h2load, and how
// it labels each row so that a client's limit or a burst artefact is never
// read as the control plane's figure.
//
// h2load's own pacing (nghttp2 1.52, src/h2load.cc):
// - `--rps R` per client: a timer every max(10 ms, 1/R) submits every
//   request due since the client's start (an absolute schedule: it does not
//   drift), timed from that submission. With R <= 100 a tick is due one
//   request, so there is no burst; one client at 5000/s sends 50 per tick.
// - `--timing-script-file`: each client re-arms its timer from when it fired
//   (a relative schedule), so every late wake-up is lost for good and a busy
//   machine falls behind the asked rate; requests are timed from their
//   submission, so that lateness is never charged.
// - `-r K --rate-period 1ms` opens K connections a millisecond (1 ms is the
//   smallest period it takes), so the clients' 10 ms ticks fall in different
//   milliseconds instead of all at once.
// The `h2load-spread` client therefore runs ceil(rate / 100) clients at
// rate / clients each (<= 100/s: one Check a tick), connections opened
// spread over one tick: at 5000/s, 50 clients, about 5 Checks a millisecond,
// which is the rate itself, with no client ever sending two at once.

/** One tick of h2load's rps timer is never shorter than this. */
export const H2LOAD_MIN_TICK_MS = 10;

export interface SpreadPlan {
  /** h2load -c */
  readonly clients: number;
  /** h2load --rps (per client). */
  readonly rpsPerClient: number;
  /** h2load -n (all clients; each sends n / clients). */
  readonly requests: number;
  /** h2load -r: connections opened per 1 ms period. */
  readonly connectionsPerMs: number;
}

/** takes the asked rate (Checks/s, > 0) and seconds; returns the h2load-spread plan (each client <= 100/s). */
export function spreadPlan(rate: number, seconds: number): SpreadPlan {
  if (!(rate > 0) || !(seconds > 0)) throw new Error(`h2load-spread: rate and duration must be > 0 (got ${rate}/s, ${seconds} s)`);
  const perClientMax = 1000 / H2LOAD_MIN_TICK_MS;
  const clients = Math.max(1, Math.ceil(rate / perClientMax));
  const rpsPerClient = rate / clients;
  const perClient = Math.max(1, Math.round(rpsPerClient * seconds));
  const tickMs = Math.max(H2LOAD_MIN_TICK_MS, 1000 / rpsPerClient);
  return { clients, rpsPerClient, requests: perClient * clients, connectionsPerMs: Math.max(1, Math.ceil(clients / tickMs)) };
}

/** takes submission times (µs, any order) of a run; returns the rate they were sent at (per s): count over first-to-last span. */
export function reachedRate(startsUs: readonly number[]): number {
  if (startsUs.length < 2) return startsUs.length;
  let min = Infinity;
  let max = -Infinity;
  for (const s of startsUs) {
    if (s < min) min = s;
    if (s > max) max = s;
  }
  // n sends span n - 1 intervals.
  return max > min ? ((startsUs.length - 1) * 1e6) / (max - min) : Infinity;
}

/** A run reaching less than this share of the asked rate did not test the asked rate. */
export const REACHED_SHARE = 0.95;

export interface RowFacts {
  readonly client: string;
  readonly askedPerSec: number;
  /** Checks actually sent per second (NaN: unknown). */
  readonly reachedPerSec: number;
  readonly p99Ms: number;
  /** Mean latency (Little's law: streams in flight = rate x mean time in flight). */
  readonly meanMs: number;
  /** Checks the client planned but never sent (its in-flight bound). */
  readonly notSent: number;
  /** Requests left in groups (h2load --rps with one client): each timed from its group's submission. */
  readonly bursty: boolean;
  /** Connections the client spread the rate over, and the streams each may have in flight (--max-in-flight). */
  readonly connections: number;
  readonly maxInFlight: number;
  /** The share of the run the server's main thread spent waiting for a CPU (/proc schedstat; 0 when unknown). */
  readonly serverWaitShare: number;
}

/** A server that waited this share of a run for a CPU was measured on a machine too busy for its figure to be its own. */
export const BUSY_WAIT_SHARE = 0.05;

/**
 * takes a row; returns whether answers came too slowly for the client's in-flight bound at the asked rate (Little's
 * law: a connection sending r/s with answers taking t s on average holds r*t streams): then it could not send, and the slowness
 * was not its pacing (it may still be the client's own event loop, for a Node client).
 */
function inFlightBoundFull(r: RowFacts): boolean {
  return (r.askedPerSec / r.connections) * (r.meanMs / 1000) >= r.maxInFlight;
}

/**
 * takes one client's row; returns the verdict printed for it: only a row that reached the asked rate, sent every
 * planned Check and had no bursts is a figure for the goal ('met' / 'not met'); any other names what limited it.
 */
export function rowVerdict(r: RowFacts): string {
  const goal = r.p99Ms < 1 ? 'goal met (p99 < 1 ms)' : 'goal not met (p99 >= 1 ms)';
  if (r.bursty) return `NOT THE FIGURE: bursts (h2load --rps from one client submits ~${Math.round(r.askedPerSec / 100)} Checks every 10 ms, each timed from its burst)`;
  if (r.notSent > 0) return `NOT THE FIGURE at ${r.askedPerSec}/s: the client (${r.client}) did not send ${r.notSent} planned Checks, its ${r.maxInFlight} in flight all waiting (its own event loop or slow answers: the client lateness, server-side time and run-queue waits above say which)`;
  if (!(r.reachedPerSec >= r.askedPerSec * REACHED_SHARE)) {
    const reached = Number.isFinite(r.reachedPerSec) ? `${r.reachedPerSec.toFixed(0)}/s` : 'an unknown rate';
    if (inFlightBoundFull(r)) return `NOT THE FIGURE at ${r.askedPerSec}/s: the client (${r.client}) sent ${reached} of ${r.askedPerSec}/s asked because answers were too slow (mean ${r.meanMs.toFixed(1)} ms as it measured them) for its ${r.maxInFlight} streams in flight per connection: the server-side time and the run-queue waits above say whose time that was`;
    return `NOT THE FIGURE at ${r.askedPerSec}/s: limited by the client (${r.client}), which sent ${reached} of ${r.askedPerSec}/s asked`;
  }
  const busy = r.serverWaitShare >= BUSY_WAIT_SHARE ? `; the server waited ${(r.serverWaitShare * 100).toFixed(0)}% of the run for a CPU: a busy machine's figure` : '';
  return `${goal} at ${r.reachedPerSec.toFixed(0)}/s reached of ${r.askedPerSec}/s asked${busy}`;
}
