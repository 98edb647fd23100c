// Node's --trace-gc lines, placed on the epoch clock. A line gives the
// isolate's own milliseconds since it started (integer) and the pause; the
// parent stamps each line when it reads it. The smallest (receipt - isolate
// time) over an isolate's lines is its clock offset: the line that reached the
// parent fastest. A pause then spans [end - pause, end] on the epoch clock, to
// within the 1 ms the isolate time is rounded to.

const LINE = /^\[(\d+):(0x[0-9a-f]+)\]\s+(\d+(?:\.\d+)?) ms: (\S+(?: \(\w+\))?)[^,]*, ([\d.]+) \/ [\d.]+ ms/;

export interface GcPause {
  readonly kind: string;
  /** Epoch ms the pause ended (after offsetting), and its length. */
  readonly endMs: number;
  readonly pauseMs: number;
}

/** Collects the --trace-gc lines of some processes (bounded) and places them once every line is in. */
export class GcTraceClock {
  private readonly raw: { isolate: string; isolateMs: number; receivedMs: number; kind: string; pauseMs: number }[] = [];
  private readonly offsets = new Map<string, number>();

  constructor(private readonly maxLines = 200_000) {}

  /** Feed every output line of a traced process (other lines are ignored); returns true for a GC line. */
  line(text: string): boolean {
    const m = LINE.exec(text);
    if (m === null) return false;
    const isolate = `${m[1]}:${m[2]}`;
    const isolateMs = Number(m[3]);
    const receivedMs = performance.timeOrigin + performance.now();
    const offset = receivedMs - isolateMs;
    const known = this.offsets.get(isolate);
    if (known === undefined || offset < known) this.offsets.set(isolate, offset);
    if (this.raw.length < this.maxLines) this.raw.push({ isolate, isolateMs, receivedMs, kind: m[4]!, pauseMs: Number(m[5]) });
    return true;
  }

  /** The pauses that ended within [fromMs, toMs] (epoch). */
  pauses(fromMs: number, toMs: number): GcPause[] {
    const out: GcPause[] = [];
    for (const r of this.raw) {
      const endMs = r.isolateMs + this.offsets.get(r.isolate)!;
      if (endMs >= fromMs && endMs <= toMs) out.push({ kind: r.kind, endMs, pauseMs: r.pauseMs });
    }
    return out;
  }
}

/**
 * Of the slow requests (flat [intended epoch ms, latency ms, send lag ms] triples), how many overlap a pause (widened by
 * slackMs each side for the isolate clock's rounding); and the share of the window the widened pauses
 * cover, which is what a request placed at random would hit.
 */
export function coincidence(slow: readonly number[], pauses: readonly GcPause[], fromMs: number, toMs: number, slackMs = 1): { slow: number; overGc: number; chance: number; clientLate: number } {
  let overGc = 0;
  let clientLate = 0;
  for (let i = 0; i < slow.length; i += 3) {
    const a = slow[i]!;
    const b = a + slow[i + 1]!;
    // Mostly the client's own lateness: it left more than half its latency after its intended time.
    if (slow[i + 2]! > slow[i + 1]! / 2) clientLate++;
    if (pauses.some((p) => p.endMs + slackMs >= a && p.endMs - p.pauseMs - slackMs <= b)) overGc++;
  }
  // A request of length L overlaps a widened pause of length P when it starts within P + L of its end.
  let meanSlow = 0;
  for (let i = 1; i < slow.length; i += 3) meanSlow += slow[i]! / (slow.length / 3);
  const covered = pauses.reduce((n, p) => n + p.pauseMs + 2 * slackMs + meanSlow, 0);
  return { slow: slow.length / 3, overGc, clientLate, chance: Math.min(1, covered / Math.max(1, toMs - fromMs)) };
}
