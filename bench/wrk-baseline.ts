// The yardstick for our own load generator: `wrk -t1 -c<N>` against the same
// target in the same run. If our client reaches less than wrk on `direct`, the
// client, not the proxy, would be what the numbers measure. A small Lua `done`
// hook prints wrk's own latency percentiles (p99.9 and the spectrum the
// HTML report draws), which its --latency table lacks.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SpectrumPoint } from './latency-histogram.js';

export interface WrkResult {
  readonly rps: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
  readonly max_ms: number;
  readonly errors: number;
  readonly spectrum: SpectrumPoint[];
}

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function toMs(value: string, unit: string): number {
  return Math.round(Number(value) * (UNIT_MS[unit] ?? NaN) * 1000) / 1000;
}

/** Percentiles wrk's Lua hook prints: the spectrum ladder (4 points per halving of the tail) and 99.9; then 100 (its max). */
export const WRK_PERCENTILES: readonly number[] = [
  ...Array.from({ length: 80 }, (_, k) => Math.round(100 * (1 - 0.5 ** (k / 4)) * 1e6) / 1e6),
  99.9,
].sort((a, b) => a - b);

/** The Lua script: after the run, one `isthmus-pct <percentile> <µs>` line per percentile, and the request count. */
export function wrkDoneScript(): string {
  return `done = function(summary, latency, requests)
  io.write(string.format("isthmus-requests %d\\n", summary.requests))
  for _, p in ipairs({ ${WRK_PERCENTILES.join(', ')} }) do
    io.write(string.format("isthmus-pct %s %d\\n", p, latency:percentile(p)))
  end
  io.write(string.format("isthmus-pct 100 %d\\n", latency.max))
end
`;
}

/** Takes wrk's text output (run with --latency and the done script); returns its figures, or throws naming what was missing. */
export function parseWrkOutput(text: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (rps === null) throw new Error(`wrk output has no "Requests/sec" line:\n${text}`);
  const table = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m === null ? NaN : toMs(m[1]!, m[2]!);
  };
  const requests = Number(/^isthmus-requests (\d+)/m.exec(text)?.[1] ?? 0);
  const points = new Map<number, number>();
  for (const m of text.matchAll(/^isthmus-pct ([\d.]+) (\d+)$/gm)) points.set(Number(m[1]), Number(m[2]) / 1000);
  // Beyond 1/count of the tail every point is the max: keep the points the count resolves.
  const spectrum: SpectrumPoint[] = [...points]
    .filter(([p]) => p === 100 || (100 - p) * requests >= 100)
    .map(([p, ms]) => [p, Math.round(ms * 1000) / 1000] as const);
  const at = (p: number, fallback: number): number => points.get(p) ?? fallback;
  const latencyMax = /^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)/m.exec(text);
  let errors = 0;
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  if (non2xx !== null) errors += Number(non2xx[1]);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (socket !== null) errors += Number(socket[1]) + Number(socket[2]) + Number(socket[3]) + Number(socket[4]);
  const round3 = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    rps: Math.round(Number(rps[1])),
    p50_ms: round3(at(50, table('50'))),
    p90_ms: round3(at(90, table('90'))),
    p99_ms: round3(at(99, table('99'))),
    p999_ms: round3(at(99.9, NaN)),
    max_ms: round3(at(100, latencyMax === null ? NaN : toMs(latencyMax[1]!, latencyMax[2]!))),
    errors,
    spectrum,
  };
}

/** Runs `wrk -t1 -c<connections> -d<seconds>s --latency -s <done script>` against 127.0.0.1:port; dir holds the script. */
export function runWrk(binary: string, port: number, connections: number, durationMs: number, dir: string): Promise<WrkResult> {
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const script = join(dir, 'wrk-percentiles.lua');
  writeFileSync(script, wrkDoneScript());
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `http://127.0.0.1:${port}/`];
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: (seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`wrk failed: ${err.message}${stderr === '' ? '' : `: ${stderr}`}`));
        return;
      }
      try {
        resolve(parseWrkOutput(stdout));
      } catch (parseErr) {
        reject(parseErr as Error);
      }
    });
  });
}
