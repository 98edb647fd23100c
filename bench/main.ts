// `isthmus bench`: bench v0. Measures what a sidecar costs: throughput and
// latency of 1 KB keep-alive requests direct to an upstream vs. through
// Isthmus (and nginx/haproxy when installed), closed loop at max throughput
// and open loop at a fixed rate (latency from the intended send time), plus
// the proxy's CPU per 1000 requests and peak RSS. Targets are visited
// interleaved (A B C A B C) so machine drift hits all; medians are reported.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchOptions, type BenchOptions } from './bench-options.js';
import { runLoad } from './load-generator.js';
import type { LoadMode } from './load-protocol.js';
import { parseJsonLine, type ManagedProcess } from '../src/process/managed-process.js';
import { findPeerBinary } from './peers.js';
import { cpuSecondsPer1k, sampleProcess, type ProcessUsage } from './process-sampler.js';
import { computeRatios } from './ratios.js';
import { formatTable, machineInfo, writeReport, type BenchReport } from './report.js';
import { aggregateRuns, type RunSample } from './result-row.js';
import { TARGETS, XDS_TARGET, startUpstream, type RunningTarget, type TargetSpec } from './scenarios.js';
import { runXdsScenario } from './xds-scenario.js';
import type { XdsResultRow } from './xds-result-row.js';
import { runWrk } from './wrk-baseline.js';

interface Started {
  readonly spec: TargetSpec;
  readonly running: RunningTarget;
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function safeSample(pid: number | null): ProcessUsage | null {
  if (pid === null) return null;
  try {
    return sampleProcess(pid);
  } catch {
    return null;
  }
}

async function measure(options: BenchOptions, started: Started, mode: LoadMode, upstreamPid: number): Promise<RunSample> {
  const pid = started.running.pid;
  let targetBefore: ProcessUsage | null = null;
  let targetAfter: ProcessUsage | null = null;
  let upstreamBefore: ProcessUsage | null = null;
  let upstreamAfter: ProcessUsage | null = null;
  const result = await runLoad({
    port: started.running.port,
    mode,
    connections: options.connections,
    rate: options.rate,
    threads: mode === 'max' ? options.threads : 1,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    onWindowStart: () => {
      targetBefore = safeSample(pid);
      upstreamBefore = safeSample(upstreamPid);
    },
    onWindowEnd: () => {
      targetAfter = safeSample(pid);
      upstreamAfter = safeSample(upstreamPid);
    },
  });
  const perK = (before: ProcessUsage | null, after: ProcessUsage | null): number | null =>
    before === null || after === null ? null : cpuSecondsPer1k(before, after, result.count);
  return {
    scenario: started.spec.scenario,
    target: started.spec.target,
    mode,
    client: 'isthmus-bench',
    connections: options.connections,
    rate: mode === 'fixed' ? options.rate : null,
    rps: result.rps,
    p50_ms: result.p50_ms,
    p90_ms: result.p90_ms,
    p99_ms: result.p99_ms,
    p999_ms: result.p999_ms,
    max_ms: result.max_ms,
    errors: result.errors,
    cpu_s_per_1k: perK(targetBefore, targetAfter),
    peak_rss_mb: (targetAfter as ProcessUsage | null)?.peakRssMb ?? null,
    upstream_cpu_s_per_1k: perK(upstreamBefore, upstreamAfter),
  };
}

async function measureWrk(binary: string, options: BenchOptions, port: number): Promise<RunSample> {
  const wrk = await runWrk(binary, port, options.connections, options.durationMs);
  return {
    scenario: 'direct-wrk',
    target: 'direct',
    mode: 'max',
    client: 'wrk',
    connections: options.connections,
    rate: null,
    rps: wrk.rps,
    p50_ms: wrk.p50_ms,
    p90_ms: wrk.p90_ms,
    p99_ms: wrk.p99_ms,
    p999_ms: NaN,
    max_ms: wrk.max_ms,
    errors: wrk.errors,
    cpu_s_per_1k: null,
    peak_rss_mb: null,
    upstream_cpu_s_per_1k: null,
  };
}

function describe(sample: RunSample): string {
  const cpu = sample.cpu_s_per_1k === null ? '' : `, ${sample.cpu_s_per_1k} cpu-s/1k`;
  const rss = sample.peak_rss_mb === null ? '' : `, ${sample.peak_rss_mb} MB`;
  return `${sample.rps} req/s, p50 ${sample.p50_ms} ms, p99 ${sample.p99_ms} ms, ${sample.errors} errors${cpu}${rss}`;
}

/** A log line as a person reads it: a pino JSON line becomes its msg (and reason), others stay. */
function readableLine(line: string): string {
  const record = parseJsonLine(line);
  if (record === undefined || typeof record.msg !== 'string') return line;
  return typeof record.reason === 'string' ? `${record.msg} (${record.reason})` : record.msg;
}

/** An error message on one line: its first line and the last few output lines, each cut short. */
function oneLine(message: string): string {
  const lines = message.split('\n').map((l) => readableLine(l.trim())).filter((l) => l !== '');
  const shown = lines.length <= 4 ? lines : [lines[0]!, '...', ...lines.slice(-3)];
  return shown.map((l) => (l.length > 240 ? `${l.slice(0, 240)}...` : l)).join(' | ');
}

export async function run(argv: string[]): Promise<number> {
  const options = parseBenchOptions(argv);
  if (options === null) return 0;
  const selected = new Set(options.targets);
  const proxySelected = options.targets.some((t) => t !== XDS_TARGET);
  const tmp = mkdtempSync(join(tmpdir(), 'isthmus-bench-'));
  const started: Started[] = [];
  const skipped: { target: string; reason: string }[] = [];
  let upstream: ManagedProcess<number> | null = null;

  let cleaning: Promise<void> | null = null;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      await Promise.all(started.map((s) => s.running.stop().catch(() => {})));
      if (upstream !== null) await upstream.stop();
      rmSync(tmp, { recursive: true, force: true });
    })();
    return cleaning;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`bench: ${signal}, stopping everything it started`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const samples: RunSample[] = [];
    if (proxySelected) {
      upstream = await startUpstream();
      const upstreamPort = upstream.ready!;
      log(`bench: upstream (uWS, 1 KB) on 127.0.0.1:${upstreamPort}, pid ${upstream.pid}`);
      for (const spec of TARGETS) {
        if (!selected.has(spec.id)) continue;
        const reason = spec.unavailable();
        if (reason !== null) {
          skipped.push({ target: spec.id, reason });
          continue;
        }
        try {
          const running = await spec.start({ upstreamPort, dir: join(tmp, spec.id) });
          started.push({ spec, running });
          log(`bench: ${spec.id} on 127.0.0.1:${running.port}${running.pid === null ? '' : `, pid ${running.pid}`}`);
        } catch (err) {
          skipped.push({ target: spec.id, reason: `did not start: ${oneLine((err as Error).message)}` });
        }
      }
      const wrkBinary = selected.has('wrk') ? findPeerBinary('wrk') : null;
      if (selected.has('wrk') && wrkBinary === null) skipped.push({ target: 'wrk', reason: 'wrk is not installed' });
      for (const s of skipped) log(`bench: skipped ${s.target}: ${s.reason}`);

      const dead = new Set<string>();
      for (let runIndex = 1; runIndex <= options.runs; runIndex++) {
        for (const mode of ['max', 'fixed'] as const) {
          if (mode === 'max' && wrkBinary !== null) {
            const sample = await measureWrk(wrkBinary, options, upstreamPort).catch((err: Error) => {
              skipped.push({ target: 'wrk', reason: `run ${runIndex}: ${err.message.split('\n')[0]}` });
              return null;
            });
            if (sample !== null) {
              samples.push(sample);
              log(`run ${runIndex}/${options.runs} max   wrk -t1 -> direct: ${describe(sample)}`);
            }
          }
          for (const target of started) {
            if (!target.spec.modes.includes(mode) || dead.has(target.spec.id)) continue;
            const exit = target.running.exitReport();
            if (exit !== null) {
              dead.add(target.spec.id);
              skipped.push({ target: target.spec.id, reason: `from run ${runIndex} on: ${oneLine(exit)}` });
              log(`run ${runIndex}/${options.runs} ${target.spec.id}: ${oneLine(exit)}`);
              continue;
            }
            try {
              const sample = await measure(options, target, mode, upstream.pid);
              samples.push(sample);
              log(`run ${runIndex}/${options.runs} ${mode.padEnd(5)} ${target.spec.id}: ${describe(sample)}`);
            } catch (err) {
              skipped.push({ target: target.spec.id, reason: `run ${runIndex} ${mode} failed: ${(err as Error).message}` });
              log(`run ${runIndex}/${options.runs} ${mode.padEnd(5)} ${target.spec.id}: FAILED ${(err as Error).message}`);
            }
          }
        }
      }
    }

    const xds: XdsResultRow[] = [];
    if (selected.has(XDS_TARGET)) {
      // Proxies and their upstream are stopped first: the control plane gets the machine to itself.
      await Promise.all(started.splice(0).map((s) => s.running.stop().catch(() => {})));
      if (upstream !== null) await upstream.stop();
      upstream = null;
      try {
        xds.push(await runXdsScenario({ ...options.xds, changeTimeoutMs: 30_000 }, log));
      } catch (err) {
        skipped.push({ target: XDS_TARGET, reason: oneLine((err as Error).message) });
      }
    }

    const results = aggregateRuns(samples);
    const report: BenchReport = {
      machine: machineInfo(),
      date: new Date().toISOString(),
      command: `isthmus bench ${argv.join(' ')}`.trim(),
      settings: {
        runs: options.runs,
        duration_ms: options.durationMs,
        warmup_ms: options.warmupMs,
        connections: options.connections,
        rate: options.rate,
        threads: options.threads,
      },
      skipped,
      results,
      ratios: computeRatios(results),
      ...(xds.length > 0 ? { xds } : {}),
    };
    process.stdout.write(formatTable(report));
    const written = writeReport(resolve(options.out), report);
    log(`bench: wrote ${written.json} and ${written.markdown}`);
    return results.length > 0 || xds.some((row) => row.connected === row.clients) ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

// Also runnable as `node dist/bench/main.js [args]`.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
