// `isthmus bench [SCENARIO...]`: what a sidecar costs, measured on this
// machine. The load scenarios (direct, proxy, mesh, reload) start their
// targets once, then visit them interleaved (A B C A B C, run after run) so
// machine drift hits all alike, in max and fixed mode; medians and spreads are
// reported. Then the control plane's xds scenario and the parser scenario run
// with the machine to themselves. Leaves bench.json, bench.md and bench.html.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBenchOptions, type BenchOptions } from './bench-options.js';
import { measureLoad, measureWrk } from './load-measure.js';
import { parseJsonLine, type ManagedProcess } from '../src/process/managed-process.js';
import { runParserScenario, type ParserResultRow } from './parser-scenario.js';
import { findPeerBinary } from './peers.js';
import { comparisons, computeRatios } from './ratios.js';
import { pinProcessTo } from './cpu-pinning.js';
import { realtimeWindow } from './rt-priority.js';
import { formatTable, machineInfo, writeReport, type BenchReport } from './report.js';
import { aggregateRuns, type RunSample } from './result-row.js';
import { LOAD_TARGETS, startUpstream, type LoadTarget, type RunningTarget } from './scenarios.js';
import { startIsthmus } from './isthmus-target.js';
import type { ProxyReady } from '../src/process/proxy-process.js';
import { runTlsScenario } from './tls-scenario.js';
import { formatTcpTable, runTcpScenario, type TcpResultRow } from './tcp-scenario.js';
import { formatH2Table, runH2Scenario, type H2ResultRow } from './h2-scenario.js';
import { runXdsScenario } from './xds-scenario.js';
import type { XdsResultRow } from './xds-result-row.js';
import type { CaResultRow } from './ca-signing.js';
import { formatAccessLogCpu, runAccessLogCpu, type AccessLogCpuReport } from './access-log-cpu.js';
import { formatTracingCpu, runTracingCpu, type TracingCpuReport, type TracingCpuTarget } from './tracing-cpu.js';
import { formatReportNoise, reportNoise } from './report-noise.js';

interface Started {
  readonly spec: LoadTarget;
  readonly running: RunningTarget;
}

interface Skipped {
  target: string;
  reason: string;
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function describe(sample: RunSample): string {
  const cpu = sample.cpu_s_per_1k === null ? '' : `, ${sample.cpu_s_per_1k} cpu-s/1k`;
  const rss = sample.peak_rss_mb === null ? '' : `, ${sample.peak_rss_mb} MB`;
  const counts = Object.entries(sample.counts ?? {}).map(([name, n]) => `, ${n} ${name.replace(/_/g, ' ')}`).join('');
  return `${sample.rps} req/s, p50 ${sample.p50_ms} ms, p99 ${sample.p99_ms} ms, ${sample.errors} errors${cpu}${rss}${counts}`;
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

/** Starts every available target of the selected load scenarios; the rest go to `skipped`, with the reason. */
async function startTargets(options: BenchOptions, upstreamPort: number, tmp: string, started: Started[], skipped: Skipped[]): Promise<void> {
  for (const spec of LOAD_TARGETS) {
    if (!options.scenarios.includes(spec.scenario)) continue;
    const reason = spec.unavailable(options);
    if (reason !== null) {
      skipped.push({ target: `${spec.scenario}/${spec.label}`, reason });
      continue;
    }
    try {
      const running = await spec.start({ upstreamPort, dir: join(tmp, spec.id), ...(options.baseline !== undefined ? { baseline: options.baseline } : {}) });
      started.push({ spec, running });
      if (options.pin) for (const pid of running.pids) log(`bench: ${spec.scenario}/${spec.label} pid ${pid} ${pinProcessTo(pid, 0)}`);
      log(`bench: ${spec.scenario}/${spec.label} on 127.0.0.1:${running.port}${running.pids.length === 0 ? '' : `, pid ${running.pids.join(' ')}`}`);
    } catch (err) {
      skipped.push({ target: `${spec.scenario}/${spec.label}`, reason: `did not start: ${oneLine((err as Error).message)}` });
    }
  }
}

/** The interleaved runs: per run, per mode, wrk (max, direct) then every started target. */
async function runLoads(options: BenchOptions, started: readonly Started[], upstream: ManagedProcess<number>, tmp: string, skipped: Skipped[]): Promise<RunSample[]> {
  const samples: RunSample[] = [];
  const wrkBinary = options.scenarios.includes('direct') ? findPeerBinary('wrk') : null;
  if (options.scenarios.includes('direct') && wrkBinary === null) skipped.push({ target: 'direct/wrk -t1', reason: 'wrk is not installed (the client baseline)' });
  const dead = new Set<string>();
  for (let runIndex = 1; runIndex <= options.runs; runIndex++) {
    const prefix = `run ${runIndex}/${options.runs}`;
    // Every other run visits the targets in reverse (A B C, C B A, ...): a row is not always measured right after
    // the same neighbour (whose leftovers, a collector's backlog or a GC, would land on it every time).
    const order = runIndex % 2 === 1 ? started : [...started].reverse();
    for (const mode of ['max', 'fixed'] as const) {
      for (const target of order) {
        if (mode === 'max' && target.spec.target === 'direct' && wrkBinary !== null) {
          try {
            const sample = await measureWrk(wrkBinary, options, upstream.ready!, upstream.pid, tmp);
            samples.push(sample);
            log(`${prefix} max   direct/wrk -t1: ${describe(sample)}`);
          } catch (err) {
            skipped.push({ target: 'direct/wrk -t1', reason: `run ${runIndex}: ${(err as Error).message.split('\n')[0]}` });
          }
        }
        const name = `${target.spec.scenario}/${target.spec.label}`;
        if (!target.spec.modes.includes(mode) || dead.has(name)) continue;
        const exit = target.running.exitReport();
        if (exit !== null) {
          dead.add(name);
          skipped.push({ target: name, reason: `from run ${runIndex} on: ${oneLine(exit)}` });
          log(`${prefix} ${name}: ${oneLine(exit)}`);
          continue;
        }
        try {
          const sample = await measureLoad(options, target.spec, target.running, mode, upstream.pid);
          samples.push(sample);
          log(`${prefix} ${mode.padEnd(5)} ${name}: ${describe(sample)}`);
        } catch (err) {
          skipped.push({ target: name, reason: `run ${runIndex} ${mode} failed: ${(err as Error).message}` });
          log(`${prefix} ${mode.padEnd(5)} ${name}: FAILED ${(err as Error).message}`);
        }
      }
    }
  }
  return samples;
}

/**
 * The tracing scenario's CPU rounds over its started rows (after the saturation runs, with the same processes);
 * undefined (and a skipped entry saying why) when they could not run. Pins as it measures; unpins this process after
 * unless --pin asked for it.
 */
async function measureTracingCpu(options: BenchOptions, started: readonly Started[], upstreamPid: number, skipped: Skipped[]): Promise<TracingCpuReport | undefined> {
  const targets: TracingCpuTarget[] = started
    .filter((s) => s.spec.scenario === 'tracing' && s.running.pids.length > 0 && s.running.exitReport() === null)
    .map((s) => {
      const m = /^tracing-(off|\d+)(-baseline)?(-control)?$/.exec(s.spec.id);
      return {
        label: s.spec.label,
        build: m?.[2] === undefined ? 'isthmus' : 'baseline',
        control: m?.[3] !== undefined,
        percent: m === null || m[1] === 'off' ? null : Number(m[1]),
        pid: s.running.pids[0]!,
        port: s.running.port,
        sink: s.running.spanSink ?? null,
      };
    });
  if (!targets.some((t) => t.percent === null && !t.control)) {
    skipped.push({ target: 'tracing/cpu rounds', reason: 'the untraced row did not start' });
    return undefined;
  }
  try {
    return await runTracingCpu(targets, { rounds: options.cpuRounds, requests: options.cpuRequests, connections: options.connections, helperPids: [upstreamPid], together: options.cpuTogether }, log);
  } catch (err) {
    skipped.push({ target: 'tracing/cpu rounds', reason: oneLine((err as Error).message) });
    return undefined;
  } finally {
    if (!options.pin) log(`bench: this process ${pinProcessTo(process.pid, `0-${cpus().length - 1}`)} again`);
  }
}

/**
 * The proxy scenario's access-log CPU rounds over its started 'isthmus 1w' rows, log off and on (after the saturation
 * runs, with the same processes); undefined (and a skipped entry saying why) when they could not run.
 */
async function measureAccessLogCpu(
  options: BenchOptions,
  started: readonly Started[],
  upstream: { readonly pid: number; readonly port: number },
  tmp: string,
  skipped: Skipped[],
  helpers: ManagedProcess<unknown>[],
): Promise<AccessLogCpuReport | undefined> {
  const row = (label: string): Started | undefined =>
    started.find((s) => s.spec.scenario === 'proxy' && s.spec.label === label && s.running.pids.length > 0 && s.running.exitReport() === null);
  const off = row('isthmus 1w');
  const on = row('isthmus 1w, access log on');
  if (off === undefined || on === undefined) {
    // A row that did not start or died during the saturation runs: say so rather than leave the verdict out silently.
    skipped.push({ target: 'proxy/access log cpu rounds', reason: `the ${off === undefined ? "'isthmus 1w'" : "'isthmus 1w, access log on'"} row is not running` });
    return undefined;
  }
  // The A/A control: one more log-off proxy of the same build, measured as a third row (if it cannot start, the
  // rounds run without it and `skipped` says why).
  let control: ManagedProcess<ProxyReady> | null = null;
  try {
    control = await startIsthmus(upstream.port, 1, join(tmp, 'access-log-control'));
    helpers.push(control); // stopped with the targets if the bench is interrupted meanwhile
  } catch (err) {
    skipped.push({ target: 'proxy/access log A/A control', reason: oneLine((err as Error).message) });
  }
  try {
    return await runAccessLogCpu(
      { pid: off.running.pids[0]!, port: off.running.port },
      { pid: on.running.pids[0]!, port: on.running.port },
      control === null ? null : { pid: control.pid, port: control.ready!.listenPort },
      { rounds: options.cpuRounds, requests: options.cpuRequests, connections: options.connections, helperPids: [upstream.pid], together: options.cpuTogether },
      log,
    );
  } catch (err) {
    skipped.push({ target: 'proxy/access log cpu rounds', reason: oneLine((err as Error).message) });
    return undefined;
  } finally {
    await control?.stop().catch(() => {});
    if (!options.pin) log(`bench: this process ${pinProcessTo(process.pid, `0-${cpus().length - 1}`)} again`);
  }
}

export async function run(argv: string[]): Promise<number> {
  const options = parseBenchOptions(argv);
  if (options === null) return 0;
  const loadSelected = LOAD_TARGETS.some((t) => options.scenarios.includes(t.scenario));
  const tmp = mkdtempSync(join(tmpdir(), 'isthmus-bench-'));
  const started: Started[] = [];
  const skipped: Skipped[] = [];
  let upstream: ManagedProcess<number> | null = null;

  const helpers: ManagedProcess<unknown>[] = [];
  const stopTargets = async (): Promise<void> => {
    await Promise.all([...started.splice(0).map((s) => s.running.stop()), ...helpers.splice(0).map((h) => h.stop())].map((p) => p.catch(() => {})));
    if (upstream !== null) await upstream.stop();
    upstream = null;
  };
  let cleaning: Promise<void> | null = null;
  const cleanup = (): Promise<void> => {
    cleaning ??= stopTargets().then(() => rmSync(tmp, { recursive: true, force: true }));
    return cleaning;
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    log(`bench: ${signal}, stopping everything it started`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    let samples: RunSample[] = [];
    let tracingCpu: TracingCpuReport | undefined;
    let accessLogCpu: AccessLogCpuReport | undefined;
    if (loadSelected) {
      // --pin: this process (so its load-generator threads and every child it starts) on CPU 1; each target is then
      // moved to CPU 0 as it starts.
      if (options.pin) log(`bench: this process, its load generator and helpers ${pinProcessTo(process.pid, 1)}`);
      // --rt: refused now, before anything starts, rather than in the first fixed-rate window.
      if (options.rt) realtimeWindow([process.pid]).end();
      upstream = await startUpstream();
      log(`bench: upstream (uWS, 1 KB) on 127.0.0.1:${upstream.ready!}, pid ${upstream.pid}`);
      await startTargets(options, upstream.ready!, tmp, started, skipped);
      for (const s of skipped) log(`bench: skipped ${s.target}: ${s.reason}`);
      samples = await runLoads(options, started, upstream, tmp, skipped);
      if (options.scenarios.includes('proxy')) accessLogCpu = await measureAccessLogCpu(options, started, { pid: upstream.pid, port: upstream.ready! }, tmp, skipped, helpers);
      if (options.scenarios.includes('tracing')) tracingCpu = await measureTracingCpu(options, started, upstream.pid, skipped);
    }
    // The proxies and their upstream stop first: the control plane and the parser get the machine to themselves.
    await stopTargets();
    // cpus(), not availableParallelism(): the latter counts only the CPUs this (now pinned) process may use.
    if (options.pin && loadSelected) log(`bench: this process ${pinProcessTo(process.pid, `0-${cpus().length - 1}`)} again`);

    if (options.scenarios.includes('tls')) {
      const tls = await runTlsScenario(options, log);
      samples = samples.concat(tls.samples);
      skipped.push(...tls.skipped);
    }

    let tcp: TcpResultRow[] = [];
    if (options.scenarios.includes('tcp')) {
      // 2 GB per target per run over 4 connections: long enough that start-up costs vanish.
      const measured = await runTcpScenario({ runs: options.runs, bytes: 2 * 1024 * 1024 * 1024, streams: 4 }, join(tmp, 'tcp'), log);
      tcp = measured.rows;
      skipped.push(...measured.skipped);
    }

    let h2: H2ResultRow[] = [];
    if (options.scenarios.includes('h2')) {
      const measured = await runH2Scenario({ runs: options.runs, seconds: Math.max(1, Math.round(options.durationMs / 1000)) }, join(tmp, 'h2'), log);
      h2 = measured.rows;
      skipped.push(...measured.skipped);
    }

    const xds: XdsResultRow[] = [];
    if (options.scenarios.includes('xds')) {
      try {
        xds.push(await runXdsScenario({ ...options.xds, changeTimeoutMs: 30_000 }, log));
      } catch (err) {
        skipped.push({ target: 'xds', reason: oneLine((err as Error).message) });
      }
    }
    let ca: CaResultRow | undefined;
    if (options.scenarios.includes('ca')) {
      const { runCaScenario } = await import('./ca-signing.js');
      ca = await runCaScenario(options.durationMs, log);
    }
    let parser: ParserResultRow[] = [];
    if (options.scenarios.includes('parser')) {
      const measured = runParserScenario(options.parserIterations, log);
      parser = measured.rows;
      for (const reason of measured.skipped) skipped.push({ target: 'parser', reason });
    }

    const results = aggregateRuns(samples);
    const noise = reportNoise(samples);
    const report: BenchReport = {
      machine: machineInfo(),
      date: new Date().toISOString(),
      command: `isthmus bench ${argv.join(' ')}`.trim(),
      settings: {
        runs: options.runs,
        duration_ms: options.durationMs,
        warmup_ms: options.warmupMs,
        connections: options.connections,
        fixed_connections: options.fixedConnections,
        rate: options.rate,
        threads: options.threads,
      },
      skipped,
      results,
      ratios: computeRatios(results),
      comparisons: comparisons(results),
      ...(parser.length > 0 ? { parser } : {}),
      ...(xds.length > 0 ? { xds } : {}),
      ...(ca !== undefined ? { ca } : {}),
      ...(tcp.length > 0 ? { tcp } : {}),
      ...(h2.length > 0 ? { h2 } : {}),
      ...(tracingCpu !== undefined ? { tracing_cpu: tracingCpu } : {}),
      ...(accessLogCpu !== undefined ? { access_log_cpu: accessLogCpu } : {}),
      ...(noise !== undefined ? { report_noise: noise } : {}),
    };
    if (results.length > 0 || xds.length > 0 || parser.length > 0) process.stdout.write(formatTable(report));
    if (tcp.length > 0) process.stdout.write(formatTcpTable(tcp));
    if (h2.length > 0) process.stdout.write(formatH2Table(h2));
    if (accessLogCpu !== undefined) process.stdout.write(formatAccessLogCpu(accessLogCpu));
    if (tracingCpu !== undefined) process.stdout.write(formatTracingCpu(tracingCpu));
    if (report.report_noise !== undefined) process.stdout.write(formatReportNoise(report.report_noise));
    const written = writeReport(resolve(options.out), report);
    log(`bench: wrote ${written.json}, ${written.markdown} and ${written.html}`);
    return results.length > 0 || tracingCpu !== undefined || parser.length > 0 || tcp.length > 0 || h2.length > 0 || ca !== undefined || xds.some((row) => row.connected === row.clients) ? 0 : 1;
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
