// What the bench measures under load: the targets a load run points at, each
// with its scenario and how to start it. `direct` is the upstream itself;
// `proxy` puts one proxy in front of it (Isthmus with 1 and with 2 workers on
// its default transport, Isthmus 1 worker with its access log on, to a file,
// nginx with 1 worker, haproxy with nbthread 1); `mesh` puts two in series, a
// client-side and a server-side sidecar, as Istio measures a mesh hop
// (plaintext and with mTLS, Isthmus and haproxy pairs); `reload` is Isthmus at a fixed rate while its
// routes change every 500 ms; `uws-front` (only when named) is Isthmus's route
// table behind a uWS listener.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compiledSibling } from '../src/process/compiled-path.js';
import { bootstrapPath, startIsthmus } from './isthmus-target.js';
import type { LoadMode } from './load-protocol.js';
import { parseJsonLine, startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';
import { findPeerBinary, freePort, startPeer, type PeerName } from './peers.js';
import { createRouteReloader } from './route-reloader.js';
import { MESH_MTLS_LABEL, startMtlsMesh } from './mesh-mtls-target.js';
import { MESH_HAPROXY_MTLS_LABEL, startHaproxyMtlsMesh } from './mesh-haproxy-mtls.js';
import { benchAuthzFilters } from './authz-policy.js';
import { sampleProcess } from './process-sampler.js';
import { cacheCounts, startPolicyControl } from './policy-control.js';
import { pinProcessTo } from './cpu-pinning.js';
import { cpus } from 'node:os';

export interface StartContext {
  readonly upstreamPort: number;
  /** A directory of the target's own (configs, data). */
  readonly dir: string;
  /** `--baseline DIR`: another Isthmus checkout (built) the resilience scenario compares with. */
  readonly baseline?: string;
}

/** Work a target does while the load's measured window is open (the reload scenario's route changes). */
export interface DuringLoad {
  start(): void;
  /** Returns counts to report with the run, e.g. { reloads_written: 10 }. */
  end(): Record<string, number>;
}

export interface RunningTarget {
  readonly port: number;
  /** Processes sampled for CPU and RSS (summed); empty for direct (there is no proxy). */
  readonly pids: readonly number[];
  /** null while they run; once a process has exited, how (with its last output). */
  exitReport(): string | null;
  stop(): Promise<void>;
  readonly duringLoad?: DuringLoad;
  /** The tracing scenario's collector (bench/span-sink.ts) beside a traced proxy: its pid and port (GET /stats counts spans). */
  readonly spanSink?: { readonly pid: number; readonly port: number };
}

export interface LoadTarget {
  /** Unique among targets, e.g. 'mesh-nginx'. */
  readonly id: string;
  readonly scenario: string;
  /** 'direct', 'isthmus', 'nginx' or 'haproxy' */
  readonly target: string;
  /** Row label: 'isthmus 1w', 'isthmus 2w', 'nginx', ... */
  readonly label: string;
  readonly modes: readonly LoadMode[];
  /** null when it can run on this machine, else why not. */
  unavailable(context: { readonly baseline?: string }): string | null;
  start(context: StartContext): Promise<RunningTarget>;
}

function fromProcesses(procs: readonly ManagedProcess<unknown>[], port: number, duringLoad?: DuringLoad): RunningTarget {
  return {
    port,
    pids: procs.map((p) => p.pid).filter((pid) => pid > 0),
    exitReport: () => {
      const dead = procs.find((p) => p.exited);
      return dead === undefined ? null : `${dead.name} exited unexpectedly (${dead.exitDescription}); its last output:\n${dead.recentOutput()}`;
    },
    stop: async () => {
      await Promise.all(procs.map((p) => p.stop()));
    },
    ...(duringLoad === undefined ? {} : { duringLoad }),
  };
}

/**
 * Takes how to stop a helper the proxy needs (a policy server, a collector; not sampled) and how to start the proxy;
 * returns the proxy's target, whose stop() stops the helper after it. The helper is stopped at once if the proxy fails.
 */
async function beside(stopHelper: () => Promise<unknown>, start: () => Promise<RunningTarget>): Promise<RunningTarget> {
  try {
    const running = await start();
    return { ...running, stop: async () => { await running.stop(); await stopHelper(); } };
  } catch (err) {
    await stopHelper();
    throw err;
  }
}

const peerMissing = (name: PeerName) => (): string | null => (findPeerBinary(name) === null ? `${name} is not installed` : null);

function peer(name: PeerName): LoadTarget {
  return {
    id: name,
    scenario: 'proxy',
    target: name,
    label: name,
    modes: ['max', 'fixed'],
    unavailable: peerMissing(name),
    start: async ({ upstreamPort, dir }) => {
      const proc = await startPeer(name, findPeerBinary(name)!, upstreamPort, dir);
      return fromProcesses([proc], proc.ready!);
    },
  };
}

/** The access-log row's label: Isthmus 1 worker with its default access log on, written to a file. */
export const ACCESS_LOG_LABEL = 'isthmus 1w, access log on';
/** The row of --workers 2 --main-thread-data-plane: worker 0 on the main thread, one worker thread. */
export const MAIN_THREAD_2W_LABEL = 'isthmus 2w, main-thread data plane';

/**
 * An Isthmus row on the proxy's default transport (native): `accessLog` writes the access log to a file (the
 * proxy's default; the other rows run with it off, as the peers do).
 */
function isthmus(workers: number, modes: readonly LoadMode[], variant: { accessLog?: boolean; mainThread?: boolean } = {}): LoadTarget {
  const { accessLog = false, mainThread = false } = variant;
  return {
    id: (workers === 1 ? 'isthmus' : `isthmus-${workers}w`) + (accessLog ? '-access-log' : '') + (mainThread ? '-main-thread' : ''),
    scenario: 'proxy',
    target: 'isthmus',
    label: accessLog ? ACCESS_LOG_LABEL : mainThread ? MAIN_THREAD_2W_LABEL : `isthmus ${workers}w`,
    modes,
    unavailable: () => null,
    start: async ({ upstreamPort, dir }) => {
      const proc = await startIsthmus(upstreamPort, workers, dir, {
        ...(accessLog ? { accessLog: join(dir, 'access.log') } : {}),
        ...(mainThread ? { args: ['--main-thread-data-plane'] } : {}),
      });
      return fromProcesses([proc], proc.ready!.listenPort);
    },
  };
}

/** Two proxies of one kind in series: app → client-side → server-side → upstream. */
function mesh(target: 'isthmus' | PeerName): LoadTarget {
  const startOne = async (upstreamPort: number, dir: string): Promise<{ proc: ManagedProcess<unknown>; port: number }> => {
    if (target === 'isthmus') {
      const proc = await startIsthmus(upstreamPort, 1, dir);
      return { proc, port: proc.ready!.listenPort };
    }
    const proc = await startPeer(target, findPeerBinary(target)!, upstreamPort, dir);
    return { proc, port: proc.ready! };
  };
  return {
    id: `mesh-${target}`,
    scenario: 'mesh',
    target,
    label: target === 'isthmus' ? 'isthmus 1w x2' : `${target} x2`,
    modes: ['max', 'fixed'],
    unavailable: target === 'isthmus' ? () => null : peerMissing(target),
    start: async ({ upstreamPort, dir }) => {
      const server = await startOne(upstreamPort, join(dir, 'server-side'));
      try {
        const client = await startOne(server.port, join(dir, 'client-side'));
        return fromProcesses([client.proc, server.proc], client.port);
      } catch (err) {
        await server.proc.stop();
        throw err;
      }
    },
  };
}

/** The mesh with mTLS between the two sidecars (bench/mesh-mtls-target.ts). */
const meshMtls: LoadTarget = {
  id: 'mesh-isthmus-mtls',
  scenario: 'mesh',
  target: 'isthmus',
  label: MESH_MTLS_LABEL,
  modes: ['max', 'fixed'],
  unavailable: () => null,
  start: async ({ upstreamPort, dir }) => {
    const { procs, port } = await startMtlsMesh(upstreamPort, dir);
    return fromProcesses(procs, port);
  },
};

/** The same path with two haproxy (nbthread 1) doing the mTLS (bench/mesh-haproxy-mtls.ts). */
const meshHaproxyMtls: LoadTarget = {
  id: 'mesh-haproxy-mtls',
  scenario: 'mesh',
  target: 'haproxy',
  label: MESH_HAPROXY_MTLS_LABEL,
  modes: ['max', 'fixed'],
  unavailable: peerMissing('haproxy'),
  start: async ({ upstreamPort, dir }) => {
    const { procs, port } = await startHaproxyMtlsMesh(findPeerBinary('haproxy')!, upstreamPort, dir);
    return fromProcesses(procs, port);
  },
};

const reload: LoadTarget = {
  id: 'reload-isthmus',
  scenario: 'reload',
  target: 'isthmus',
  label: 'isthmus 1w',
  modes: ['fixed'],
  unavailable: () => null,
  start: async ({ upstreamPort, dir }) => {
    // A fixed listener port: every rewritten bootstrap must name the same listener address.
    const listenPort = await freePort();
    const reloader = createRouteReloader(bootstrapPath(dir), upstreamPort, listenPort);
    const proc = await startIsthmus(upstreamPort, 1, dir, { listenPort, onLine: reloader.onLine });
    return fromProcesses([proc], proc.ready!.listenPort, { start: reloader.start, end: reloader.stop });
  },
};

const uwsFront: LoadTarget = {
  id: 'uws-front',
  scenario: 'uws-front',
  target: 'isthmus',
  label: 'uws-front',
  modes: ['max'],
  unavailable: () => {
    try {
      const routeTable = compiledSibling(import.meta.url, join('..', 'src', 'routing', 'route-table.js'));
      return existsSync(routeTable) ? null : 'src/routing/route-table.ts is not built yet';
    } catch (err) {
      return (err as Error).message;
    }
  },
  start: async ({ upstreamPort }) => {
    const script = compiledSibling(import.meta.url, 'uws-front-server.js');
    const proc = await startManagedProcess({
      name: 'uws-front',
      command: process.execPath,
      args: [script, '--upstream-port', String(upstreamPort)],
      readyLine: (line) => {
        const record = parseJsonLine(line);
        return record?.msg === 'uws-front ready' && typeof record.port === 'number' ? record.port : undefined;
      },
    });
    return fromProcesses([proc], proc.ready!);
  },
};

/**
 * Issue 3's check: the proxy with every resilience feature configured but idle, next to the same build
 * without them and (with --baseline) the previous build, same upstream, same run.
 */
function resilience(kind: 'plain' | 'idle' | 'baseline'): LoadTarget {
  return {
    id: `resilience-${kind}`,
    scenario: 'resilience',
    target: 'isthmus',
    label: kind === 'plain' ? 'isthmus 1w' : kind === 'idle' ? 'isthmus 1w, v2 features idle' : 'baseline 1w',
    modes: ['max'],
    unavailable: ({ baseline }) => {
      if (kind !== 'baseline') return null;
      if (baseline === undefined) return 'no --baseline DIR given (a built checkout of the version to compare with)';
      return existsSync(join(baseline, 'bin', 'isthmus.js')) ? null : `${baseline}/bin/isthmus.js not found`;
    },
    start: async ({ upstreamPort, dir, baseline }) => {
      const proc = await startIsthmus(upstreamPort, 1, dir, {
        ...(kind === 'idle' ? { idleResilience: true } : {}),
        ...(kind === 'baseline' ? { checkout: baseline! } : {}),
      });
      return fromProcesses([proc], proc.ready!.listenPort);
    },
  };
}

/** The per-request cost of an AuthorizationPolicy of 10 rules (bench/authz-policy.ts) next to none, same run. */
function authz(withPolicy: boolean): LoadTarget {
  return {
    id: withPolicy ? 'authz-policy' : 'authz-none',
    scenario: 'authz',
    target: 'isthmus',
    label: withPolicy ? 'isthmus 1w, AuthorizationPolicy 10 rules' : 'isthmus 1w, no policy',
    modes: ['max', 'fixed'],
    unavailable: () => null,
    start: async ({ upstreamPort, dir }) => {
      const proc = await startIsthmus(upstreamPort, 1, dir, withPolicy ? { httpFilters: benchAuthzFilters() } : {});
      return fromProcesses([proc], proc.ready!.listenPort);
    },
  };
}

/**
 * Issue 16's tracing cost: the same proxy with no tracing, and with Zipkin tracing sampling 1% and 100% of requests
 * (every request starts a trace, its context goes upstream in both formats; sampled spans are reported in batches
 * on a kept connection to a collector, bench/span-sink.ts, that accepts and discards them in its own process).
 * The row's CPU is the proxy's own; the collector's is reported beside it (collector cpu ms, per run summed).
 * Same run, interleaved.
 */
function tracing(percent: number | null, baseline = false, control = false): LoadTarget {
  // control: a second untraced proxy (an A/A pair with the first: the noise floor the CPU rounds report).
  const name = percent === null ? (control ? 'tracing off, A/A control' : 'tracing off') : `tracing ${percent}%`;
  return {
    id: (percent === null ? 'tracing-off' : `tracing-${percent}`) + (baseline ? '-baseline' : '') + (control ? '-control' : ''),
    scenario: 'tracing',
    target: 'isthmus',
    label: baseline ? `baseline 1w, ${name}` : `isthmus 1w, ${name}`,
    modes: ['max'],
    // With --baseline DIR, the same rows for that build too (before/after interleaved in one run).
    unavailable: ({ baseline: dir }) => {
      if (!baseline) return null;
      if (dir === undefined) return 'no --baseline DIR given (a built checkout to compare tracing cost with)';
      return existsSync(join(dir, 'bin', 'isthmus.js')) ? null : `${dir}/bin/isthmus.js not found`;
    },
    start: async ({ upstreamPort, dir, baseline: checkout }) => {
      const build = baseline ? { checkout: checkout! } : {};
      if (percent === null) {
        const proc = await startIsthmus(upstreamPort, 1, dir, build);
        return fromProcesses([proc], proc.ready!.listenPort);
      }
      const collector = await startSpanSink();
      return beside(() => collector.stop(), async () => {
        const proc = await startIsthmus(upstreamPort, 1, dir, { ...build, tracing: { samplingPercent: percent, collectorPort: collector.ready! } });
        return { ...fromProcesses([proc], proc.ready!.listenPort, collectorCpu(collector.pid)), spanSink: { pid: collector.pid, port: collector.ready! } };
      });
    },
  };
}

/** Starts the bench's Zipkin collector (bench/span-sink.ts) in its own process; ready is its port. */
export async function startSpanSink(): Promise<ManagedProcess<number>> {
  return startManagedProcess({
    name: 'span sink',
    command: process.execPath,
    args: [compiledSibling(import.meta.url, 'span-sink.js')],
    readyLine: (line) => {
      const record = parseJsonLine(line);
      return record?.msg === 'span sink ready' && typeof record.port === 'number' ? record.port : undefined;
    },
  });
}

/** The collector's CPU over the measured window, as a count of the run (milliseconds). */
function collectorCpu(pid: number): DuringLoad {
  return processCpu(pid, 'collector_cpu_ms');
}

/** A helper process's CPU over the measured window, as the count `name` of the run (milliseconds). */
function processCpu(pid: number, name: string): DuringLoad {
  let before = 0;
  const cpuMs = (): number => {
    try {
      return sampleProcess(pid).cpuSeconds * 1000;
    } catch {
      return Number.NaN;
    }
  };
  return {
    start: () => {
      before = cpuMs();
    },
    end: () => ({ [name]: Math.round(cpuMs() - before) }),
  };
}

/**
 * Issue 14's policy cost: the same proxy with no policy, with the mixer filter answered from its check cache
 * (one Check for the run), and with every request a Check RPC (answers not cacheable). The Mixer server runs in
 * its own process and is not sampled: the rows compare the proxy's own CPU per request.
 */
function policy(kind: 'none' | 'hit' | 'miss'): LoadTarget {
  return {
    id: `policy-${kind}`,
    scenario: 'policy',
    target: 'isthmus',
    label: kind === 'none' ? 'isthmus 1w, no policy' : kind === 'hit' ? 'isthmus 1w, check cache hit' : 'isthmus 1w, check cache miss',
    modes: ['max'],
    unavailable: () => null,
    start: async ({ upstreamPort, dir }) => {
      if (kind === 'none') {
        const proc = await startIsthmus(upstreamPort, 1, dir);
        return fromProcesses([proc], proc.ready!.listenPort);
      }
      const mixer = await startMixerBenchServer(kind === 'hit');
      return beside(() => mixer.stop(), async () => {
        const proc = await startIsthmus(upstreamPort, 1, dir, { mixerPort: mixer.ready! });
        return fromProcesses([proc], proc.ready!.listenPort, cacheCounts(proc.ready!.adminPort));
      });
    },
  };
}

/** Starts bench/mixer-bench-server.ts (cacheable: its Check answers serve the check cache); ready is its port. */
function startMixerBenchServer(cacheable: boolean): Promise<ManagedProcess<number>> {
  return startManagedProcess({
    name: 'mixer',
    command: process.execPath,
    args: [compiledSibling(import.meta.url, 'mixer-bench-server.js'), ...(cacheable ? ['--cacheable'] : [])],
    readyLine: (line) => {
      const record = parseJsonLine(line);
      return record?.msg === 'mixer ready' && typeof record.port === 'number' ? record.port : undefined;
    },
  });
}

/**
 * Issue 14's "Report never adds latency": the same proxy answered from its check cache by a real `isthmus control`
 * whose rules are telemetry (a prometheus metric and a stdio log entry per request: bench/policy-control.ts), with
 * Report off and on, closed-loop and at a fixed rate (the p99 to compare). The control plane is not sampled. The
 * rows carry the proxy's check cache hits and misses (the hit ratio of a steady pattern) and Report batches.
 * `control`: a second Report-off proxy (an A/A pair with the first: how far two identical rows' p99 differ on this
 * machine, what "within noise" is measured against; bench/report-noise.ts). `apart`: Report on with the proxy on CPU
 * 0 and its control plane on CPU 1 (taskset), so the control plane's bursts (it runs the telemetry rules for every
 * entry) do not share the proxy's CPU: the proxy's own cost of Report stays in the row, the co-located server's is
 * taken out of it. `discard`: Report on to bench/mixer-bench-server.ts, which answers Reports and runs no rules (the
 * proxy's own cost of Report, without a control plane's telemetry work on the same machine). `baseline`: with --baseline DIR, that build's proxy (before/after interleaved in one run; the
 * control plane is this build's).
 */
function report(on: boolean, variant: 'control' | 'apart' | 'discard' | 'baseline' | null = null): LoadTarget {
  const name = on ? 'Report on' : 'Report off';
  return {
    id: `report-${on ? 'on' : 'off'}${variant === null ? '' : `-${variant}`}`,
    scenario: 'report',
    target: 'isthmus',
    label: `${variant === 'baseline' ? 'baseline' : 'isthmus'} 1w, cache hit, ${name}${variant === 'control' ? ', A/A control' : variant === 'apart' ? ', control plane on another CPU' : variant === 'discard' ? ', server runs no rules' : ''}`,
    modes: ['max', 'fixed'],
    unavailable: ({ baseline: dir }) => {
      if (variant === 'apart' && cpus().length < 2) return `needs 2 CPUs, this machine has ${cpus().length}`;
      if (variant !== 'baseline') return null;
      if (dir === undefined) return 'no --baseline DIR given (a built checkout to compare Report with)';
      return existsSync(join(dir, 'bin', 'isthmus.js')) ? null : `${dir}/bin/isthmus.js not found`;
    },
    start: async ({ upstreamPort, dir, baseline: checkout }) => {
      const control = variant === 'discard' ? await startMixerBenchServer(true) : await startPolicyControl(dir);
      return beside(() => control.stop(), async () => {
        const build = variant === 'baseline' ? { checkout: checkout! } : {};
        const proc = await startIsthmus(upstreamPort, 1, dir, { ...build, mixerPort: control.ready!, mixerReport: on });
        if (variant === 'apart') {
          const pinned = [pinProcessTo(proc.pid, 0), pinProcessTo(control.pid, 1)];
          if (pinned.some((p) => p.startsWith('not pinned'))) throw new Error(pinned.join('; '));
        }
        // The control plane's CPU beside the proxy's counts: what the telemetry rules cost it per entry.
        return fromProcesses([proc], proc.ready!.listenPort, together(cacheCounts(proc.ready!.adminPort), processCpu(control.pid, 'control_cpu_ms')));
      });
    },
  };
}

/** Both helpers' counts over the same window. */
function together(a: DuringLoad, b: DuringLoad): DuringLoad {
  return {
    start: () => {
      a.start();
      b.start();
    },
    end: () => ({ ...a.end(), ...b.end() }),
  };
}

export const DIRECT: LoadTarget = {
  id: 'direct',
  scenario: 'direct',
  target: 'direct',
  label: 'direct',
  modes: ['max', 'fixed'],
  unavailable: () => null,
  start: async ({ upstreamPort }) => ({ port: upstreamPort, pids: [], exitReport: () => null, stop: async () => {} }),
};

/** Every load target, in the order a run visits them (A B C A B C over runs). */
export const LOAD_TARGETS: readonly LoadTarget[] = [
  DIRECT,
  isthmus(1, ['max', 'fixed']),
  isthmus(1, ['max'], { accessLog: true }),
  peer('haproxy'),
  peer('nginx'),
  isthmus(2, ['max']),
  isthmus(2, ['max'], { mainThread: true }),
  mesh('isthmus'),
  meshMtls,
  mesh('haproxy'),
  meshHaproxyMtls,
  mesh('nginx'),
  reload,
  resilience('baseline'),
  resilience('plain'),
  resilience('idle'),
  policy('none'),
  policy('hit'),
  policy('miss'),
  uwsFront,
  authz(false),
  authz(true),
  tracing(null),
  tracing(1),
  tracing(100),
  tracing(null, false, true),
  tracing(null, true),
  tracing(1, true),
  tracing(100, true),
  report(false),
  report(true),
  report(false, 'control'),
  report(true, 'apart'),
  report(true, 'discard'),
  report(false, 'baseline'),
  report(true, 'baseline'),
];

/** Scenarios a plain `isthmus bench` runs, in order. */
export const DEFAULT_SCENARIOS = ['direct', 'proxy', 'mesh', 'reload', 'xds', 'parser'] as const;
/** Every scenario name the command line accepts. */
export const SCENARIOS = [...DEFAULT_SCENARIOS, 'resilience', 'policy', 'uws-front', 'tls', 'ca', 'tcp', 'h2', 'authz', 'tracing', 'report'] as const;

/** Starts the bench upstream (its own process) and resolves with it once it listens. */
export async function startUpstream(bodyBytes = 1024): Promise<ManagedProcess<number>> {
  const script = compiledSibling(import.meta.url, 'upstream-server.js');
  return startManagedProcess({
    name: 'upstream',
    command: process.execPath,
    args: [script, '--body-bytes', String(bodyBytes)],
    readyLine: (line) => {
      const record = parseJsonLine(line);
      return record?.msg === 'upstream ready' && typeof record.port === 'number' ? record.port : undefined;
    },
  });
}
