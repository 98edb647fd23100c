// `isthmus bench xds`: how long a VirtualService change takes to reach every
// sidecar, through the real control process. It starts `isthmus control` on a
// config folder (bench/xds-mesh-config.ts), opens N simulated sidecars spread
// over worker threads of this process (bench/xds-client-worker.ts), waits
// until each has ACKed its initial config (time to connect all), lets the
// registrations' EDS pushes settle, then rewrites the VirtualService `changes`
// times, each time recording per client change → ACK of the RDS version that
// carries it. The control process's CPU and peak RSS come from /proc.
// changes = 0 is a connect-only run (how many sidecars it holds, and at what cost).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { compiledSibling, packageRoot } from '../src/process/compiled-path.js';
import { parseJsonLine, startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';
import { sampleProcess, type ProcessUsage } from './process-sampler.js';
import { convergenceOf, medianOfChanges, type ChangeConvergence } from './xds-convergence.js';
import { writeMeshConfig, writeVirtualService } from './xds-mesh-config.js';
import type { XdsResultRow } from './xds-result-row.js';
import type { XdsProtocol, XdsWorkerData, XdsWorkerReport } from './xds-worker-protocol.js';

export interface XdsScenarioOptions {
  readonly clients: number;
  /** VirtualService changes to time; 0: connect only. */
  readonly changes: number;
  readonly protocol: XdsProtocol;
  readonly threads: number;
  /** Distinct services the sidecars belong to. */
  readonly services: number;
  /** Per change: how long every client has to ACK it. */
  readonly changeTimeoutMs: number;
}

/** Quiet time after the last client got its config, before the first change (registration EDS pushes settle). */
const SETTLE_MS = 1500;
const BETWEEN_CHANGES_MS = 500;

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function startControl(dir: string): Promise<ManagedProcess<number>> {
  const cli = join(packageRoot(import.meta.dirname), 'bin', 'isthmus.js');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ISTHMUS_')));
  return startManagedProcess<number>({
    name: 'isthmus control',
    command: process.execPath,
    args: [cli, 'control', '--config-dir', join(dir, 'config'), '--data-dir', join(dir, 'data'), '--xds-port', '0', '--secure-xds-port', '0', '--admin-port', '0', '--log-level', 'warn'],
    env,
    readyTimeoutMs: 30_000,
    readyLine: (line) => {
      const record = parseJsonLine(line);
      const xds = record?.msg === 'control ready' ? (record.xds as { port?: unknown } | undefined) : undefined;
      return typeof xds?.port === 'number' ? xds.port : undefined;
    },
  });
}

/** Collects worker reports into per-client arrays and wakes whoever waits for a count. */
class Collector {
  readonly readyAt: Float64Array;
  /** ackAt[k - 1][i]: when client i ACKed revision k (or a later one, which carries k's change too). */
  readonly ackAt: Float64Array[];
  ready = 0;
  /** Worker threads that loaded their protos and wait for `open`. */
  loaded = 0;
  readonly acked: number[];
  readonly errors: string[] = [];
  errorCount = 0;
  private wake: (() => void) | null = null;

  constructor(clients: number, changes: number) {
    this.readyAt = new Float64Array(clients).fill(NaN);
    this.ackAt = Array.from({ length: changes }, () => new Float64Array(clients).fill(NaN));
    this.acked = new Array<number>(changes).fill(0);
  }

  add(r: XdsWorkerReport): void {
    for (let j = 0; j + 1 < r.ready.length; j += 2) {
      const i = r.ready[j]!;
      if (Number.isNaN(this.readyAt[i])) this.ready++;
      this.readyAt[i] = r.ready[j + 1]!;
    }
    for (let j = 0; j + 2 < r.revisions.length; j += 3) {
      const i = r.revisions[j]!;
      const revision = Math.min(r.revisions[j + 1]!, this.ackAt.length);
      for (let k = 1; k <= revision; k++) {
        if (!Number.isNaN(this.ackAt[k - 1]![i])) continue;
        this.ackAt[k - 1]![i] = r.revisions[j + 2]!;
        this.acked[k - 1]!++;
      }
    }
    this.errorCount += r.errors.length;
    for (const e of r.errors) if (this.errors.length < 5) this.errors.push(e);
    this.wake?.();
  }

  /** Resolves true once `done()` holds, false after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    return true;
  }
}

function startWorkers(options: XdsScenarioOptions, port: number, collector: Collector): Worker[] {
  const script = compiledSibling(import.meta.url, 'xds-client-worker.js');
  const threads = Math.max(1, Math.min(options.threads, options.clients));
  const perThread = Math.ceil(options.clients / threads);
  const workers: Worker[] = [];
  for (let t = 0; t < threads; t++) {
    const first = t * perThread;
    const count = Math.min(perThread, options.clients - first);
    if (count <= 0) break;
    const data: XdsWorkerData = { port, first, count, services: options.services, protocol: options.protocol };
    const worker = new Worker(script, { workerData: data });
    worker.on('message', (m: XdsWorkerReport | { closed: true } | { loaded: true }) => {
      if ('ready' in m) collector.add(m);
      else if ('loaded' in m) collector.loaded++;
    });
    worker.on('error', (err) => collector.add({ ready: [], revisions: [], errors: [`worker ${t}: ${err.message}`] }));
    workers.push(worker);
  }
  return workers;
}

function usage(pid: number): ProcessUsage {
  return sampleProcess(pid);
}

/** Runs the scenario once; `log` gets progress lines. Throws when the control process fails to start. */
export async function runXdsScenario(options: XdsScenarioOptions, log: (line: string) => void): Promise<XdsResultRow> {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-bench-xds-'));
  let control: ManagedProcess<number> | null = null;
  let workers: Worker[] = [];
  try {
    writeMeshConfig(join(dir, 'config'), options.services);
    control = await startControl(dir);
    const pid = control.pid;
    log(`bench xds: control on xds port ${control.ready}, pid ${pid}; opening ${options.clients} ${options.protocol} clients on ${options.threads} threads`);
    const atStart = usage(pid);
    const collector = new Collector(options.clients, options.changes);
    workers = startWorkers(options, control.ready!, collector);
    if (!(await collector.until(() => collector.loaded === workers.length, 60_000))) throw new Error('client worker threads did not start within 60 s');
    const connectStart = now();
    for (const worker of workers) worker.postMessage('open');
    const connectLimit = Math.max(60_000, options.clients * 30);
    const allReady = await collector.until(() => collector.ready === options.clients || control!.exited, connectLimit);
    const lastReady = Math.max(...collector.readyAt.filter((v) => !Number.isNaN(v)), connectStart);
    const connectMs = Math.round((lastReady - connectStart) * 10) / 10;
    log(`bench xds: ${collector.ready}/${options.clients} clients got their initial config${allReady ? ` in ${connectMs} ms` : ` (gave up after ${connectLimit} ms)`}`);
    const atConnected = usage(pid);

    const changes: ChangeConvergence[] = [];
    let atChangesStart = atConnected;
    if (allReady && options.changes > 0) {
      await sleep(SETTLE_MS);
      atChangesStart = usage(pid);
      for (let k = 1; k <= options.changes && !control.exited; k++) {
        const changeAt = now();
        writeVirtualService(join(dir, 'config'), k);
        await collector.until(() => collector.acked[k - 1] === options.clients || control!.exited, options.changeTimeoutMs);
        const c = convergenceOf(changeAt, collector.ackAt[k - 1]!);
        changes.push(c);
        log(`bench xds: change ${k}/${options.changes}: ${c.acked}/${c.clients} ACKed; p50 ${c.p50_ms} ms, p99 ${c.p99_ms} ms, max ${c.max_ms} ms`);
        await sleep(BETWEEN_CHANGES_MS);
      }
    }
    const atEnd = control.exited ? atChangesStart : usage(pid);
    const exit = control.exited ? `control exited: ${control.exitDescription}` : null;
    const summary = changes.length > 0 ? medianOfChanges(changes) : null;
    return {
      scenario: 'xds',
      protocol: options.protocol,
      clients: options.clients,
      threads: options.threads,
      services: options.services,
      changes: changes.length,
      connected: collector.ready,
      connect_all_ms: allReady ? connectMs : null,
      acked: summary?.acked ?? null,
      p50_ms: summary?.p50_ms ?? null,
      p90_ms: summary?.p90_ms ?? null,
      p99_ms: summary?.p99_ms ?? null,
      max_ms: summary?.max_ms ?? null,
      all_acked_ms: summary === null || Number.isNaN(summary.all_acked_ms) ? null : summary.all_acked_ms,
      per_change: changes,
      control_peak_rss_mb: atEnd.peakRssMb,
      control_cpu_s_connect: round(atConnected.cpuSeconds - atStart.cpuSeconds),
      control_cpu_s_changes: changes.length > 0 ? round(atEnd.cpuSeconds - atChangesStart.cpuSeconds) : null,
      stream_errors: collector.errorCount,
      notes: [...(exit === null ? [] : [exit]), ...collector.errors],
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate().catch(() => 0)));
    await control?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
