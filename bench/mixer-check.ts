// `npm run bench:mixer`: the latency of the control plane's Mixer Check RPC at
// a fixed rate (issue 14's target: p99 under 1 ms at 5000 checks/s). A real
// `isthmus control` child process runs a small policy (a denier rule on a
// header and path, an allow rule on a path prefix: every Check evaluates
// both, and half of them call a handler); this process sends Checks over
// real sockets with each load generator of --client in turn (see
// mixer-load-clients.ts): `proxy` (the sidecar's own Check client, open loop,
// latency from each Check's intended send time: the figure a sidecar sees),
// `grpc-js` (a lean grpc-js client, same timing), `h2load` (--rps: bursts
// every 10 ms, timed from the burst) and `h2load-paced` (a timing script),
// the h2load ones when it is installed (the bench installs nothing: it says
// so and skips). Nothing is reused across Checks on the server (it has no
// answer cache; the proxy's check cache is not involved). The control
// plane's own isthmus_mixer_check_duration_seconds (arrival to answer,
// inside the server) and its Check outcomes are read from its /metrics, and
// its main thread's event-loop delay from a probe loaded with --import
// (event-loop-probe.ts), to tell the server's time from the transport's and
// the client's; CPU per Check is reported for the control plane and each
// client, with the load average (the machine may be shared). Options:
// --rate N (5000), --duration S (10), --max-in-flight N (64),
// --server control|trivial (control: the default; trivial: the same clients
// against trivial-h2-server.ts, which answers at once: what the clients, Node's
// HTTP/2 and the machine cost by themselves),
// --client LIST (comma-separated of proxy, proxy-grpc-js, grpc-js, h2load,
// h2load-paced, h2load-spread (many h2load clients, open loop at --rate);
// `all` (default) or `both` = grpc-js,h2load), --cpu-prof-dir DIR (a V8 CPU
// profile of the control plane), --pin (control plane on CPU 0, this process
// and h2load on CPU 1: cpu-pinning.ts), --target xds|policy (which port of the
// control plane the clients call: xds, the default, is the gRPC port beside ADS
// (grpc-js's server with fast-unary.ts); policy is --policy-port, the addon's
// HTTP/2 server, native-grpc-server.ts). Each row ends with a verdict
// (mixer-rate-plan.ts): a figure for the goal only when the client reached
// the asked rate, sent every Check and sent no bursts; a closing table
// repeats the rows. Comparing builds: --cli PATH runs another build's
// bin/isthmus.js as the control plane (e.g. an older build's: this
// bench, its clients and its probe stay the same), --node-flags "..." gives
// the control plane's node V8 flags (the bench starts it with
// process.execPath, so bin/isthmus.js's `#!` flags do not apply unless given
// here; --as-installed adds the CLI's own `#!` flags: the control plane as
// `isthmus control` runs when started as a command), and each row is also
// printed as one `RESULT {json}` line.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/process/compiled-path.js';
import { MixerClient } from '../control/mixer/mixer-client.js';
import { mixerServiceDefinition } from '../control/mixer/mixer-protos.js';
import { encodeAttributes } from '../control/mixer/attribute-message.js';
import type { WireAttributes } from '../workers/filters/mixer/policy-transport.js';
import { LOAD_CLIENTS, runGrpcJs, runH2load, runProxyClient, runProxyGrpcJs, type LoadClientName, type Run, type RunResult } from './mixer-load-clients.js';
import type { LoopDelaySample } from './event-loop-probe.js';
import { sampleProcess } from './process-sampler.js';
import { rowVerdict } from './mixer-rate-plan.js';
import { pinProcesses, pinText } from './cpu-pinning.js';
import { createLatencyHistogram, summarizeLatency, type Histogram } from './latency-histogram.js';

const POLICY = `apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: { name: deny-beta, namespace: istio-system }
spec:
  compiledAdapter: denier
  params: { status: { code: 7, message: beta users are not allowed }, validDuration: 5s, validUseCount: 1000 }
---
apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: { name: allow-api, namespace: istio-system }
spec:
  compiledAdapter: denier
  params: { status: { code: 0 }, validDuration: 5s, validUseCount: 1000 }
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: allow-api, namespace: istio-system }
spec:
  match: request.path.startsWith("/api") && request.method == "GET"
  actions: [{ handler: allow-api, instances: [nothing] }]
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: { name: nothing, namespace: istio-system }
spec: { compiledTemplate: checknothing }
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: { name: deny-beta, namespace: istio-system }
spec:
  match: request.headers["x-user"] == "beta" && request.path.startsWith("/api")
  actions: [{ handler: deny-beta, instances: [nothing] }]
`;

function numberOption(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

/**
 * Starts the server under test: `isthmus control` (resolving once it logs "control ready") or, with trivial, the
 * answer-at-once node:http2 server (trivial-h2-server.ts; adminPort 0: no /metrics). Both carry the event-loop probe.
 */
function startServer(dir: string, trivial: boolean, target: 'xds' | 'policy'): Promise<{ child: ChildProcess; port: number; adminPort: number }> {
  const cli = option('cli', join(packageRoot(import.meta.dirname), 'bin', 'isthmus.js'));
  const nodeFlags = [...(process.argv.includes('--as-installed') ? shebangFlags(cli) : []), ...option('node-flags', '').split(' ').filter((f) => f !== '')];
  // The event-loop probe (bench only) answers over the IPC channel.
  const probe = pathToFileURL(join(import.meta.dirname, 'event-loop-probe.js')).href;
  const args = trivial
    ? ['--import', probe, join(import.meta.dirname, 'trivial-h2-server.js')]
    : ['--import', probe, cli, 'control', '--config-dir', join(dir, 'config'), '--data-dir', join(dir, 'data'), '--admin-port', '0', '--xds-port', '0', '--secure-xds-port=-1', '--policy-port', '0'];
  // --cpu-prof-dir DIR: the server writes a V8 CPU profile there on exit (to see where its time goes).
  const profileAt = process.argv.indexOf('--cpu-prof-dir');
  if (profileAt >= 0) args.unshift('--cpu-prof', `--cpu-prof-dir=${process.argv[profileAt + 1]}`);
  args.unshift(...nodeFlags);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const name = trivial ? 'the trivial server' : 'isthmus control';
  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} was not ready within 60 s`));
    }, 60_000);
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before ready`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (trivial && line.includes('"trivial ready"')) {
          clearTimeout(timer);
          resolve({ child, port: (JSON.parse(line) as { port: number }).port, adminPort: 0 });
        }
        if (!line.includes('"control ready"')) continue;
        clearTimeout(timer);
        const ready = JSON.parse(line) as { xds: { port: number }; admin: { port: number }; policy?: { port: number } | null };
        const port = target === 'policy' ? ready.policy?.port : ready.xds.port;
        if (port === undefined) {
          reject(new Error('isthmus control did not say its policy port (a build without --policy-port?)'));
          return;
        }
        resolve({ child, port, adminPort: ready.admin.port });
      }
    });
  });
}

/** takes a CLI file; returns the node flags of its `#!/usr/bin/env -S node ...` line (what `isthmus control` runs with when started as a command). */
function shebangFlags(cli: string): string[] {
  const first = readFileSync(cli, 'utf8').split('\n', 1)[0]!;
  const m = /^#!.*\bnode\b(.*)$/.exec(first);
  return m === null ? [] : m[1]!.trim().split(/\s+/).filter((f) => f.startsWith('--'));
}

interface ServerCounts {
  readonly text: string;
  readonly count: number;
  readonly sum: number;
  readonly buckets: readonly (readonly [string, number])[];
  readonly outcomes: ReadonlyMap<string, number>;
}

/** The control plane's Check histogram and outcome counters, from its /metrics. */
async function serverCounts(adminPort: number): Promise<ServerCounts> {
  if (adminPort === 0) return { text: '', count: 0, sum: 0, buckets: [], outcomes: new Map() };
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const buckets = [...text.matchAll(/^isthmus_mixer_check_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])] as const);
  const outcomes = new Map<string, number>();
  for (const m of text.matchAll(/^isthmus_mixer_checks_total\{service="mixer",outcome="(\w+)"\} (\d+)$/gm)) outcomes.set(m[1]!, Number(m[2]));
  return {
    text, buckets, outcomes,
    count: Number(/^isthmus_mixer_check_duration_seconds_count (\d+)$/m.exec(text)?.[1] ?? 0),
    sum: Number(/^isthmus_mixer_check_duration_seconds_sum (\S+)$/m.exec(text)?.[1] ?? 0),
  };
}

/** The server-side Check latency over a run (after minus before): count, mean, and the bucket bounds holding p50 and p99. */
function serverSide(before: ServerCounts, after: ServerCounts): string {
  const count = after.count - before.count;
  const sum = after.sum - before.sum;
  const buckets = after.buckets.map(([le, n], i) => [le, n - (before.buckets[i]?.[1] ?? 0)] as const);
  const at = (q: number): string => {
    const found = buckets.find(([, n]) => n >= q * count);
    return found === undefined ? '?' : found[0] === '+Inf' ? '> 2.5 s' : `<= ${(Number(found[0]) * 1000).toFixed(2)} ms`;
  };
  const outcome = (name: string): number => (after.outcomes.get(name) ?? 0) - (before.outcomes.get(name) ?? 0);
  return `server side (arrival to answer, ${count} Checks: ${outcome('ok')} ok, ${outcome('denied')} denied, ${outcome('unavailable')} unavailable): mean ${count === 0 ? 0 : ((sum / count) * 1e6).toFixed(0)} µs, p50 ${at(0.5)}, p99 ${at(0.99)}`;
}

/** The bench's request pattern: every Check evaluates both rules; half reach an adapter; one in ten is denied. */
const attrs = (i: number) => ({ 'request.path': i % 2 === 0 ? '/api/items' : '/static/app.js', 'request.headers': { 'x-user': i % 10 === 0 ? 'beta' : `user-${i}` }, 'request.method': 'GET' });

/** takes a request index; returns the serialized CheckRequest (protobuf, unframed). */
function encodeCheck(i: number): Buffer {
  return mixerServiceDefinition().Check!.requestSerialize({ attributes: encodeAttributes(attrs(i)), quotas: {}, deduplication_id: '' }) as Buffer;
}

const loadText = (): string => loadavg().map((n) => n.toFixed(2)).join(' ');

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? fallback : fallback;
}

/** takes a process and thread id; returns nanoseconds the thread has waited on a run queue (0 where schedstat is missing). */
function runQueueWaitNs(pid: number, tid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
  } catch {
    return 0;
  }
}

/** takes --client's text; returns the clients to run, in order. */
function clientList(text: string): LoadClientName[] {
  if (text === 'all') return [...LOAD_CLIENTS];
  if (text === 'both') return ['grpc-js', 'h2load'];
  const names = text.split(',').map((n) => n.trim());
  for (const n of names) if (!(LOAD_CLIENTS as readonly string[]).includes(n)) throw new Error(`--client: unknown client '${n}' (one or more of ${LOAD_CLIENTS.join(', ')}, comma-separated; or all, both)`);
  return names as LoadClientName[];
}

/** Asks the control plane's event-loop probe for the delay since the last question (null: no answer in 2 s). */
function loopDelay(child: ChildProcess): Promise<LoopDelaySample | null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      resolve(null);
    }, 2000);
    const onMessage = (msg: unknown): void => {
      if ((msg as LoopDelaySample | null)?.type !== 'event-loop-delay') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(msg as LoopDelaySample);
    };
    child.on('message', onMessage);
    child.send('event-loop-delay');
  });
}

const loopText = (d: LoopDelaySample | null): string =>
  d === null
    ? 'control plane event-loop delay: no answer from the probe'
    : `control plane event-loop lateness (1 ms timer): p50 ${d.p50Ms.toFixed(3)} ms, p99 ${d.p99Ms.toFixed(3)} ms, max ${d.maxMs.toFixed(3)} ms`
      + (d.gc === undefined ? '' : `\n  control plane GC: ${d.gc.scavenges} scavenges, ${d.gc.others} other collections; pauses p50 ${d.gc.p50Ms.toFixed(3)} ms, p99 ${d.gc.p99Ms.toFixed(3)} ms, max ${d.gc.maxMs.toFixed(3)} ms, total ${d.gc.totalMs.toFixed(1)} ms`);

async function main(): Promise<void> {
  const rate = numberOption('rate', 5000);
  const seconds = numberOption('duration', 10);
  const maxInFlight = numberOption('max-in-flight', 64);
  const which = clientList(option('client', 'all'));
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-bench-mixer-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'policy.yaml'), POLICY);
  const server = option('server', 'control');
  if (server !== 'control' && server !== 'trivial') throw new Error('--server must be control or trivial');
  const trivial = server === 'trivial';
  const target = option('target', 'xds');
  if (target !== 'xds' && target !== 'policy') throw new Error('--target must be xds or policy');
  const control = await startServer(dir, trivial, target);
  const pinned = process.argv.includes('--pin') ? pinProcesses(control.child.pid!, process.pid) : null;
  const wire: WireAttributes[] = Array.from({ length: 1000 }, (_, i) => encodeAttributes(attrs(i)) as WireAttributes);
  const run: Run = { rate, seconds, maxInFlight, port: control.port, dir, encoded: encodeCheck, wire: (i) => wire[i % wire.length]! };
  try {
    // One Check through the ordinary client: the policy answers (a denial for beta on /api).
    const probe = new MixerClient(control.port);
    const answer = await probe.check(attrs(0));
    probe.close();
    if (!trivial && answer.precondition.status.code !== 7) throw new Error(`the bench policy did not deny a beta user (status ${answer.precondition.status.code})`);
    process.stdout.write(`${trivial ? 'TRIVIAL SERVER (answers at once, no policy, no grpc-js): ' : ''}mixer Check${trivial ? '' : ` on the ${target} port`} at ${rate}/s for ${seconds}s (max ${maxInFlight} in flight); load average before: ${loadText()}, ${cpus().length} cores; ${pinText(pinned)}\n`);
    const go: Record<LoadClientName, (h: Histogram) => Promise<RunResult | null>> = {
      proxy: (h) => runProxyClient(run, h),
      'proxy-grpc-js': (h) => runProxyGrpcJs(run, h),
      'grpc-js': (h) => runGrpcJs(run, h),
      h2load: (h) => runH2load(run, h, 'rps'),
      'h2load-paced': (h) => runH2load(run, h, 'paced'),
      'h2load-spread': (h) => runH2load(run, h, 'spread'),
    };
    const summary: string[] = [];
    for (const name of which) {
      const histogram = createLatencyHistogram();
      const before = await serverCounts(control.adminPort);
      await loopDelay(control.child); // resets the probe's histogram
      const cpuBefore = sampleProcess(control.child.pid!);
      const pid = control.child.pid!;
      const waitBefore = [runQueueWaitNs(pid, pid), runQueueWaitNs(process.pid, process.pid)];
      const startedAt = performance.now();
      const result = await go[name](histogram);
      const elapsedS = (performance.now() - startedAt) / 1000;
      const waited = [runQueueWaitNs(pid, pid) - waitBefore[0]!, runQueueWaitNs(process.pid, process.pid) - waitBefore[1]!].map((ns) => ns / 1e6);
      const cpuAfter = sampleProcess(control.child.pid!);
      const delay = await loopDelay(control.child);
      const after = await serverCounts(control.adminPort);
      if (result === null) {
        process.stdout.write(`[${name}] skipped: h2load is not installed (Debian: apt-get install nghttp2-client)\n`);
        continue;
      }
      const s = summarizeLatency(histogram);
      const checks = trivial ? s.count : after.count - before.count;
      process.stdout.write(
        `[${name}] ${result.line}\n`
        + `  latency: p50 ${s.p50_ms.toFixed(3)} ms, p90 ${s.p90_ms.toFixed(3)} ms, p99 ${s.p99_ms.toFixed(3)} ms, p99.9 ${s.p999_ms.toFixed(3)} ms, max ${s.max_ms.toFixed(3)} ms (goal p99 < 1 ms: ${s.p99_ms < 1 ? 'met' : 'not met'})\n`
        + `  ${result.detail}\n`
        + (trivial ? '' : `  ${serverSide(before, after)}\n`)
        + `  ${loopText(delay)}\n`
        + `  waiting for a CPU (run queue, /proc schedstat) over ${elapsedS.toFixed(1)} s: control plane main thread ${waited[0]!.toFixed(0)} ms, this process's main thread ${waited[1]!.toFixed(0)} ms (h2load: its own process, not counted)\n`
        + `  CPU per Check (incl. warm-up): control plane ${checks === 0 ? '?' : (((cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) / checks) * 1e6).toFixed(0)} µs (all its threads), client ${checks === 0 ? '?' : ((result.clientCpuSeconds / checks) * 1e6).toFixed(0)} µs; load average after: ${loadText()}\n`,
      );
      const controlCpuUs = checks === 0 ? NaN : ((cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) / checks) * 1e6;
      const verdict = rowVerdict({ client: name, askedPerSec: rate, reachedPerSec: result.reachedPerSec, p99Ms: s.p99_ms, meanMs: histogram.totalCount === 0 ? 0 : histogram.mean / 1000, notSent: result.notSent, bursty: result.bursty, connections: result.connections, maxInFlight, serverWaitShare: waited[0]! / 1000 / elapsedS });
      process.stdout.write(`  => ${verdict}\n`);
      process.stdout.write(`RESULT ${JSON.stringify({
        client: name, cli: option('cli', 'this build'), p50Ms: s.p50_ms, p90Ms: s.p90_ms, p99Ms: s.p99_ms, reachedPerSec: result.reachedPerSec, controlCpuUs,
        loopP99Ms: delay?.p99Ms ?? null, gcP99Ms: delay?.gc?.p99Ms ?? null, gcMaxMs: delay?.gc?.maxMs ?? null, gcCount: delay?.gc === undefined ? null : delay.gc.scavenges + delay.gc.others,
        gcTotalMs: delay?.gc?.totalMs ?? null, serverWaitMs: waited[0], load: loadavg()[0],
      })}\n`);
      summary.push(`| ${name} | ${rate}/s | ${Number.isFinite(result.reachedPerSec) ? result.reachedPerSec.toFixed(0) : '?'}/s | ${s.p50_ms.toFixed(3)} / ${s.p90_ms.toFixed(3)} / ${s.p99_ms.toFixed(3)} | ${Number.isNaN(controlCpuUs) ? '?' : controlCpuUs.toFixed(0)} µs | ${verdict} |`);
    }
    process.stdout.write(`\n| client | asked | reached | p50 / p90 / p99 ms | control plane CPU per Check | verdict |\n| --- | --- | --- | --- | --- | --- |\n${summary.join('\n')}\nload average at the end: ${loadText()}\n`);
  } finally {
    control.child.kill('SIGTERM');
    await new Promise((r) => control.child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
