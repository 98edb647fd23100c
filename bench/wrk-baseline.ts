// The yardstick for our own load generator: `wrk -t1 -c<N>` against the same
// target in the same run. If our client reaches less than wrk on `direct`, the
// client, not the proxy, would be what the numbers measure.
import { execFile } from 'node:child_process';

export interface WrkResult {
  readonly rps: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly max_ms: number;
  readonly errors: number;
}

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function toMs(value: string, unit: string): number {
  return Math.round(Number(value) * (UNIT_MS[unit] ?? NaN) * 1000) / 1000;
}

/** Takes wrk's text output (run with --latency); returns its figures, or throws naming what was missing. */
export function parseWrkOutput(text: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (rps === null) throw new Error(`wrk output has no "Requests/sec" line:\n${text}`);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m === null ? NaN : toMs(m[1]!, m[2]!);
  };
  const latency = /^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)/m.exec(text);
  let errors = 0;
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text);
  if (non2xx !== null) errors += Number(non2xx[1]);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  if (socket !== null) errors += Number(socket[1]) + Number(socket[2]) + Number(socket[3]) + Number(socket[4]);
  return {
    rps: Math.round(Number(rps[1])),
    p50_ms: pct('50'),
    p90_ms: pct('90'),
    p99_ms: pct('99'),
    max_ms: latency === null ? NaN : toMs(latency[1]!, latency[2]!),
    errors,
  };
}

/** Runs `wrk -t1 -c<connections> -d<seconds>s --latency` against 127.0.0.1:port. */
export function runWrk(binary: string, port: number, connections: number, durationMs: number): Promise<WrkResult> {
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', `http://127.0.0.1:${port}/`];
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
