// `isthmus bench tls`: what terminating TLS costs, beside the plaintext
// scenarios. Client → TLS → proxy → plaintext upstream, against Isthmus,
// haproxy and nginx serving one ECDSA P-256 certificate, visited interleaved
// run after run with the same client (wrk when installed, bench/tls-wrk-client.ts;
// else the node:tls client, bench/tls-load-client.ts, which saturates first):
// keep-alive req/s and proxy CPU per request (scenario tls-keepalive), and
// full handshakes per second, one new connection per request (tls-handshake).
// Missing peers are skipped and said so; so is Isthmus while it does not
// terminate TLS.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compiledSibling } from '../src/process/compiled-path.js';
import { parseJsonLine, type ManagedProcess } from '../src/process/managed-process.js';
import { sampleAll } from './load-measure.js';
import { cpuSecondsPer1k, type ProcessUsage } from './process-sampler.js';
import type { RunSample } from './result-row.js';
import { startUpstream } from './scenarios.js';
import { makeBenchCertificate, type BenchCertificate } from './tls-certificate.js';
import type { TlsLoadMode, TlsLoadResult } from './tls-load-client.js';
import { findPeerBinary } from './peers.js';
import { runTlsWrk } from './tls-wrk-client.js';
import { startTlsTarget, tlsTargetUnavailable, type TlsTargetName } from './tls-targets.js';

export interface TlsScenarioOptions {
  readonly runs: number;
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly connections: number;
}

export interface TlsScenarioResult {
  readonly samples: RunSample[];
  readonly skipped: { target: string; reason: string }[];
}

const TARGETS: readonly TlsTargetName[] = ['isthmus', 'haproxy', 'nginx'];
const MODES: readonly TlsLoadMode[] = ['keepalive', 'handshake'];
/** New connections in flight in handshake mode: enough to keep a one-thread server busy without a SYN storm. */
const HANDSHAKE_CONNECTIONS = 16;

export const TLS_LABELS: Readonly<Record<TlsTargetName, string>> = { isthmus: 'isthmus 1w', haproxy: 'haproxy', nginx: 'nginx' };

/** Runs the client once against port (wrk when installed, else the node:tls client); samples the pids' CPU over the measured window. */
function runClient(
  port: number,
  mode: TlsLoadMode,
  options: TlsScenarioOptions,
  cert: BenchCertificate,
  pids: readonly number[],
  dir: string,
): Promise<{ result: TlsLoadResult; before: ProcessUsage | null; after: ProcessUsage | null }> {
  const connections = mode === 'handshake' ? Math.min(options.connections, HANDSHAKE_CONNECTIONS) : options.connections;
  const wrk = findPeerBinary('wrk');
  if (wrk !== null) return runTlsWrk(wrk, port, mode, connections, options.warmupMs, options.durationMs, dir, pids);
  const script = compiledSibling(import.meta.url, 'tls-load-client.js');
  const args = [script, '--port', String(port), '--mode', mode, '--connections', String(connections), '--warmup-ms', String(options.warmupMs), '--duration-ms', String(options.durationMs), '--ca', cert.certFile];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let before: ProcessUsage | null = null;
    let after: ProcessUsage | null = null;
    let result: TlsLoadResult | null = null;
    let pending = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), options.warmupMs + options.durationMs + 30_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.stdout.on('data', (d: Buffer) => {
      pending += d.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const record = parseJsonLine(pending.slice(0, nl));
        pending = pending.slice(nl + 1);
        if (record?.msg === 'tls window start') before = sampleAll(pids);
        else if (record?.msg === 'tls window end') after = sampleAll(pids);
        else if (record?.msg === 'tls load done') result = record as unknown as TlsLoadResult;
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(killer);
      if (result === null) reject(new Error(`the TLS load client exited (${code}) without a result: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve({ result, before, after });
    });
  });
}

export async function runTlsScenario(options: TlsScenarioOptions, log: (line: string) => void): Promise<TlsScenarioResult> {
  const samples: RunSample[] = [];
  const skipped: { target: string; reason: string }[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'isthmus-bench-tls-'));
  const started: { name: TlsTargetName; proc: ManagedProcess<unknown>; port: number }[] = [];
  let upstream: ManagedProcess<number> | null = null;
  try {
    let cert: BenchCertificate;
    try {
      cert = makeBenchCertificate(join(tmp, 'cert'));
    } catch (err) {
      skipped.push({ target: 'tls', reason: (err as Error).message });
      return { samples, skipped };
    }
    upstream = await startUpstream();
    for (const name of TARGETS) {
      const reason = tlsTargetUnavailable(name);
      if (reason !== null) {
        skipped.push({ target: `tls/${TLS_LABELS[name]}`, reason });
        continue;
      }
      try {
        started.push({ name, ...(await startTlsTarget(name, upstream.ready!, join(tmp, name), cert)) });
        log(`bench: tls/${TLS_LABELS[name]} on 127.0.0.1:${started.at(-1)!.port}`);
      } catch (err) {
        skipped.push({ target: `tls/${TLS_LABELS[name]}`, reason: (err as Error).message.split('\n')[0]! });
      }
    }
    for (const s of skipped) log(`bench: skipped ${s.target}: ${s.reason}`);
    for (let run = 1; run <= options.runs; run++) {
      for (const mode of MODES) {
        for (const target of started) {
          const label = TLS_LABELS[target.name];
          const scenario = `tls-${mode}`;
          try {
            const { result, before, after } = await runClient(target.port, mode, options, cert, [target.proc.pid], tmp);
            const rps = result.seconds > 0 ? Math.round(result.completed / result.seconds) : 0;
            const sample: RunSample = {
              scenario,
              target: target.name,
              label,
              mode: 'max',
              client: findPeerBinary('wrk') !== null ? 'wrk' : 'isthmus-bench',
              connections: mode === 'handshake' ? Math.min(options.connections, HANDSHAKE_CONNECTIONS) : options.connections,
              rate: null,
              rps,
              p50_ms: result.p50_ms,
              p90_ms: result.p90_ms,
              p99_ms: result.p99_ms,
              p999_ms: result.p999_ms,
              max_ms: result.max_ms,
              errors: result.errors,
              cpu_s_per_1k: before === null || after === null ? null : cpuSecondsPer1k(before, after, result.completed + result.errors),
              peak_rss_mb: after?.peakRssMb ?? null,
              upstream_cpu_s_per_1k: null,
              client_threads: 1,
              histogram: null,
              spectrum: [[50, result.p50_ms], [90, result.p90_ms], [99, result.p99_ms], [99.9, result.p999_ms], [100, result.max_ms]],
            };
            samples.push(sample);
            const cpu = sample.cpu_s_per_1k === null ? '' : `, ${Math.round(sample.cpu_s_per_1k * 1000)} µs CPU/request`;
            log(`run ${run}/${options.runs} ${scenario} ${label}: ${rps} ${mode === 'handshake' ? 'handshakes' : 'req'}/s, p99 ${result.p99_ms} ms, ${result.errors} errors${cpu}`);
          } catch (err) {
            skipped.push({ target: `${scenario}/${label}`, reason: `run ${run}: ${(err as Error).message}` });
          }
        }
      }
    }
    return { samples, skipped };
  } finally {
    await Promise.all(started.map((s) => s.proc.stop().catch(() => {})));
    if (upstream !== null) await upstream.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}
