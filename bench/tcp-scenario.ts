// `isthmus bench tcp`: what relaying raw TCP costs. Streams of bytes from
// this process through a target to a sink (bench/tcp-sink.ts) that counts
// them: direct to the sink, through haproxy `mode tcp` (nbthread 1), and
// through Isthmus's tcp_proxy (1 worker, each transport), visited interleaved
// run after run. Reports MB/s (wall time until the sink confirmed every byte)
// and the target's CPU seconds per GB relayed (from /proc).
import { mkdirSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { compiledSibling } from '../src/process/compiled-path.js';
import { startManagedProcess, type ManagedProcess } from '../src/process/managed-process.js';
import { isthmusCommand } from '../src/process/proxy-process.js';
import { findPeerBinary, freePort } from './peers.js';
import { sampleAll } from './load-measure.js';
import { median } from './result-row.js';

export interface TcpScenarioOptions {
  readonly runs: number;
  /** Bytes each run sends through a target, over `streams` connections. */
  readonly bytes: number;
  readonly streams: number;
}

export interface TcpResultRow {
  readonly target: string;
  /** Median over runs. */
  readonly mb_per_s: number;
  /** Median target CPU seconds per GB relayed; null for direct (no process in between). */
  readonly cpu_s_per_gb: number | null;
  readonly runs: number;
}

interface Target {
  readonly label: string;
  readonly port: number;
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

const CHUNK = Buffer.alloc(256 * 1024, 0x61);

/** Sends `bytes` on one connection and resolves once the sink confirmed them all. */
function stream(port: number, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let answer = '';
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => {
      let sent = 0;
      const pump = (): void => {
        while (sent < bytes) {
          const n = Math.min(CHUNK.length, bytes - sent);
          sent += n;
          const more = socket.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
          if (sent === bytes) socket.end();
          if (!more) return;
        }
      };
      socket.on('drain', pump);
      pump();
    });
    socket.setEncoding('latin1');
    socket.on('data', (s: string) => {
      answer += s;
    });
    socket.on('error', reject);
    socket.on('close', () => (Number(answer) === bytes ? resolve() : reject(new Error(`the sink got ${answer || 'nothing'} of ${bytes} bytes`))));
  });
}

function haproxyTcpConfig(listenPort: number, sinkPort: number): string {
  return `# written by isthmus bench tcp: haproxy mode tcp, nbthread 1
global
  nbthread 1
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
frontend tcp_in
  bind 127.0.0.1:${listenPort}
  default_backend tcp_out
backend tcp_out
  server sink 127.0.0.1:${sinkPort}
`;
}

function isthmusTcpBootstrap(listenPort: number, sinkPort: number): string {
  return `# written by isthmus bench tcp: one tcp_proxy listener
static_resources:
  listeners:
    - name: tcp
      address: { socket_address: { address: 127.0.0.1, port_value: ${listenPort} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.tcp_proxy
              typed_config:
                '@type': type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                stat_prefix: tcp
                cluster: sink
  clusters:
    - name: sink
      type: STATIC
      connect_timeout: 1s
      load_assignment:
        cluster_name: sink
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${sinkPort} } } } }] }]
`;
}

function managed(label: string, port: number, proc: ManagedProcess<unknown>): Target {
  return {
    label, port, pids: [proc.pid], stop: async () => {
      await proc.stop();
    },
  };
}

async function startTargets(sinkPort: number, dir: string, log: (line: string) => void, skipped: { target: string; reason: string }[]): Promise<Target[]> {
  const targets: Target[] = [{ label: 'direct', port: sinkPort, pids: [], stop: async () => {} }];
  const haproxy = findPeerBinary('haproxy');
  if (haproxy === null) skipped.push({ target: 'tcp/haproxy', reason: 'haproxy is not installed' });
  else {
    const port = await freePort();
    const file = join(dir, 'haproxy-tcp.cfg');
    writeFileSync(file, haproxyTcpConfig(port, sinkPort));
    targets.push(managed('haproxy mode tcp', port, await startManagedProcess({ name: 'haproxy', command: haproxy, args: ['-f', file, '-db'], readyPort: port })));
  }
  for (const transport of ['node', 'native'] as const) {
    const port = await freePort();
    const sub = join(dir, `isthmus-${transport}`);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'bootstrap.yaml'), isthmusTcpBootstrap(port, sinkPort));
    const { command, args } = isthmusCommand(['proxy', '--bootstrap', join(sub, 'bootstrap.yaml'), '--workers', '1', '--admin-port', '0',
      '--data-dir', join(sub, 'data'), '--access-log', 'off', '--transport', transport]);
    const proc = await startManagedProcess({ name: `isthmus ${transport}`, command, args, readyPort: port, readyTimeoutMs: 20_000 });
    targets.push(managed(`isthmus 1w ${transport}`, port, proc));
  }
  for (const t of targets) log(`bench tcp: ${t.label} on 127.0.0.1:${t.port}`);
  return targets;
}

/** Runs the scenario; missing peers are skipped and said so. */
export async function runTcpScenario(
  options: TcpScenarioOptions,
  dir: string,
  log: (line: string) => void,
): Promise<{ rows: TcpResultRow[]; skipped: { target: string; reason: string }[] }> {
  const skipped: { target: string; reason: string }[] = [];
  mkdirSync(dir, { recursive: true });
  const sink = await startManagedProcess<number>({
    name: 'tcp sink',
    command: process.execPath,
    args: [compiledSibling(import.meta.url, 'tcp-sink.js')],
    readyLine: (line) => {
      const m = /"port":(\d+)/.exec(line);
      return m === null ? undefined : Number(m[1]);
    },
  });
  const targets = await startTargets(sink.ready!, dir, log, skipped).catch(async (err: unknown) => {
    await sink.stop();
    throw err;
  });
  const speeds = new Map<string, number[]>();
  const cpus = new Map<string, number[]>();
  const perStream = Math.floor(options.bytes / options.streams);
  const total = perStream * options.streams;
  try {
    for (let run = 1; run <= options.runs; run++) {
      for (const t of targets) {
        const before = sampleAll(t.pids);
        const started = process.hrtime.bigint();
        await Promise.all(Array.from({ length: options.streams }, () => stream(t.port, perStream)));
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const after = sampleAll(t.pids);
        const mbps = total / 1e6 / seconds;
        const cpu = before === null || after === null ? null : (after.cpuSeconds - before.cpuSeconds) / (total / 1e9);
        (speeds.get(t.label) ?? speeds.set(t.label, []).get(t.label)!).push(mbps);
        if (cpu !== null) (cpus.get(t.label) ?? cpus.set(t.label, []).get(t.label)!).push(cpu);
        log(`run ${run}/${options.runs} tcp ${t.label}: ${mbps.toFixed(0)} MB/s${cpu === null ? '' : `, ${cpu.toFixed(2)} cpu-s/GB`}`);
      }
    }
  } finally {
    await Promise.all(targets.map((t) => t.stop().catch(() => {})));
    await sink.stop();
  }
  const rows = targets.map((t) => ({
    target: t.label,
    mb_per_s: Math.round(median(speeds.get(t.label) ?? [0])),
    cpu_s_per_gb: cpus.has(t.label) ? Math.round(median(cpus.get(t.label)!) * 100) / 100 : null,
    runs: speeds.get(t.label)?.length ?? 0,
  }));
  return { rows, skipped };
}

/** The rows as a table, with each Isthmus row against haproxy. */
export function formatTcpTable(rows: readonly TcpResultRow[]): string {
  const haproxy = rows.find((r) => r.target.startsWith('haproxy'));
  const lines = ['target                 MB/s   cpu-s/GB   vs haproxy (MB/s, cpu/GB)'];
  for (const r of rows) {
    const vs = haproxy === undefined || r === haproxy || r.cpu_s_per_gb === null || haproxy.cpu_s_per_gb === null
      ? ''
      : `${(r.mb_per_s / haproxy.mb_per_s).toFixed(2)}x, ${(r.cpu_s_per_gb / haproxy.cpu_s_per_gb).toFixed(2)}x`;
    lines.push(`${r.target.padEnd(20)} ${String(r.mb_per_s).padStart(6)}   ${(r.cpu_s_per_gb === null ? '-' : r.cpu_s_per_gb.toFixed(2)).padStart(8)}   ${vs}`);
  }
  return `${lines.join('\n')}\n`;
}
