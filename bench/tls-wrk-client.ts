// The TLS scenario's load client when wrk is installed: a C client (one
// thread, OpenSSL) drives a one-thread proxy harder than node:tls can, so the
// figures measure the proxy rather than the client. Keep-alive mode reuses
// each connection; handshake mode sends `Connection: close`, so wrk opens a
// new connection, with a full handshake (wrk keeps no session to resume), per
// request. A warm-up run comes first; the proxies' CPU is sampled over the
// measured run only.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sampleAll } from './load-measure.js';
import type { ProcessUsage } from './process-sampler.js';
import type { TlsLoadMode, TlsLoadResult } from './tls-load-client.js';
import { parseWrkOutput, wrkDoneScript } from './wrk-baseline.js';

function wrk(binary: string, args: readonly string[], seconds: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: (seconds + 30) * 1000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`wrk failed: ${err.message}${stderr === '' ? '' : `: ${stderr}`}`));
      else resolve(stdout);
    });
  });
}

/** Runs wrk over https against 127.0.0.1:port (warm-up, then the measured run); samples pids' CPU around the latter. */
export async function runTlsWrk(
  binary: string,
  port: number,
  mode: TlsLoadMode,
  connections: number,
  warmupMs: number,
  durationMs: number,
  dir: string,
  pids: readonly number[],
): Promise<{ result: TlsLoadResult; before: ProcessUsage | null; after: ProcessUsage | null }> {
  const script = join(dir, 'wrk-percentiles.lua');
  writeFileSync(script, wrkDoneScript());
  const header = mode === 'handshake' ? ['-H', 'Connection: close'] : [];
  const url = `https://127.0.0.1:${port}/`;
  const warmup = Math.max(1, Math.round(warmupMs / 1000));
  await wrk(binary, ['-t1', `-c${connections}`, `-d${warmup}s`, ...header, url], warmup);
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  const before = sampleAll(pids);
  const started = performance.now();
  const text = await wrk(binary, ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, ...header, url], seconds);
  const elapsed = (performance.now() - started) / 1000;
  const after = sampleAll(pids);
  const parsed = parseWrkOutput(text);
  const completed = Number(/^isthmus-requests (\d+)/m.exec(text)?.[1] ?? Math.round(parsed.rps * seconds));
  return {
    result: {
      msg: 'tls load done',
      completed,
      errors: parsed.errors,
      // wrk's own rate is over its run; CPU is per request over the sampled window, which the request count spans.
      seconds: parsed.rps > 0 ? completed / parsed.rps : elapsed,
      p50_ms: parsed.p50_ms,
      p90_ms: parsed.p90_ms,
      p99_ms: parsed.p99_ms,
      p999_ms: parsed.p999_ms,
      max_ms: parsed.max_ms,
    },
    before,
    after,
  };
}
