// `npm run bench:mixer`: the latency of the control plane's Mixer Check RPC at
// a fixed rate (issue 14's target: p99 under 1 ms at 5000 checks/s). A real
// `isthmus control` child process runs a small policy (a denier rule on a
// header and path, an allow rule on a path prefix: every Check evaluates
// both, and half of them call an adapter on the pool); this process sends
// Checks open-loop, at most --max-in-flight outstanding, with two load
// generators in turn: (1) a lean @grpc/grpc-js client (one channel, 1000
// CheckRequests encoded up front with different x-user values, sent as bytes,
// answers not decoded: no per-call work beyond the call itself; latency from
// each Check's intended send time, no coordinated omission), and (2) h2load
// (nghttp2-client, C: far less CPU per request than any Node client), sending
// one framed CheckRequest (an allowed /api request that calls a handler) at --rps, when it is installed (the bench installs
// nothing: it says so and skips). Nothing is reused across Checks on the
// server (it has no answer cache; the proxy's check cache is not involved).
// The control plane's own isthmus_mixer_check_duration_seconds (arrival to
// answer, inside the server) and its Check outcomes are read from its
// /metrics, to tell the policy's cost from the RPC's; CPU per Check is
// reported for the control plane and each client, with the load average (the
// machine may be shared). Options: --rate N (5000), --duration S (10),
// --max-in-flight N (64), --client grpc-js|h2load|both (both),
// --cpu-prof-dir DIR (a V8 CPU profile of the control plane).
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { credentials, Client } from '@grpc/grpc-js';
import { join } from 'node:path';
import { packageRoot } from '../src/process/compiled-path.js';
import { MixerClient } from '../control/mixer/mixer-client.js';
import { mixerServiceDefinition } from '../control/mixer/mixer-protos.js';
import { encodeAttributes } from '../control/mixer/attribute-message.js';
import { OpenLoopSchedule } from './open-loop-schedule.js';
import { sampleProcess } from './process-sampler.js';
import { createLatencyHistogram, recordLatencyMs, summarizeLatency, type Histogram } from './latency-histogram.js';

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

/** Starts `isthmus control` and resolves with it and its plaintext gRPC port once it logs "control ready". */
function startControl(dir: string): Promise<{ child: ChildProcess; port: number; adminPort: number }> {
  const cli = join(packageRoot(import.meta.dirname), 'bin', 'isthmus.js');
  const args = [cli, 'control', '--config-dir', join(dir, 'config'), '--data-dir', join(dir, 'data'), '--admin-port', '0', '--xds-port', '0', '--secure-xds-port=-1'];
  // --cpu-prof-dir DIR: the control plane writes a V8 CPU profile there on exit (to see where its time goes).
  const profileAt = process.argv.indexOf('--cpu-prof-dir');
  if (profileAt >= 0) args.unshift('--cpu-prof', `--cpu-prof-dir=${process.argv[profileAt + 1]}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('isthmus control was not ready within 60 s'));
    }, 60_000);
    child.once('exit', (code) => reject(new Error(`isthmus control exited (${code}) before ready`)));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.includes('"control ready"')) continue;
        clearTimeout(timer);
        const ready = JSON.parse(line) as { xds: { port: number }; admin: { port: number } };
        resolve({ child, port: ready.xds.port, adminPort: ready.admin.port });
      }
    });
  });
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

const CHECK_PATH = '/isthmus.mixer.v1.Mixer/Check';

/** The bench's request pattern: every Check evaluates both rules; half reach an adapter; one in ten is denied. */
const attrs = (i: number) => ({ 'request.path': i % 2 === 0 ? '/api/items' : '/static/app.js', 'request.headers': { 'x-user': i % 10 === 0 ? 'beta' : `user-${i}` }, 'request.method': 'GET' });

/** takes a request index; returns the serialized CheckRequest (protobuf, unframed). */
function encodeCheck(i: number): Buffer {
  return mixerServiceDefinition().Check!.requestSerialize({ attributes: encodeAttributes(attrs(i)), quotas: {}, deduplication_id: '' }) as Buffer;
}

const loadText = (): string => loadavg().map((n) => n.toFixed(2)).join(' ');

interface RunResult {
  readonly line: string;
  readonly clientCpuSeconds: number;
}

interface Run {
  readonly rate: number;
  readonly seconds: number;
  readonly maxInFlight: number;
  readonly port: number;
}

const identity = (b: Buffer): Buffer => b;

/**
 * The lean grpc-js load generator: one channel, requests encoded before the run and sent as bytes, answers not
 * decoded (the control plane's /metrics counts outcomes): per Check only the call itself allocates.
 */
async function runGrpcJs(run: Run, histogram: Histogram): Promise<RunResult> {
  const bodies = Array.from({ length: 1000 }, (_, i) => encodeCheck(i));
  const client = new Client(`127.0.0.1:${run.port}`, credentials.createInsecure());
  try {
    const send = (i: number, done: (err: unknown) => void): void => {
      client.makeUnaryRequest(CHECK_PATH, identity, identity, bodies[i % bodies.length]!, done);
    };
    const cpuBefore = process.cpuUsage();
    // Warm-up: JIT on both sides, the channel.
    for (let i = 0; i < 2000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => new Promise((r) => send(i + k, r))));
    const schedule = new OpenLoopSchedule(performance.now(), run.rate, run.seconds * 1000);
    let sent = 0;
    let inFlight = 0;
    let failed = 0;
    let skipped = 0;
    let answered = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = schedule.dueBy(performance.now());
        while (sent < due) {
          if (inFlight >= run.maxInFlight) {
            // Bounded: a Check that cannot be sent in time is counted, never queued without limit.
            skipped++;
            sent++;
            continue;
          }
          const intended = schedule.intendedAt(sent);
          inFlight++;
          send(sent++, (err) => {
            if (err === null) {
              answered++;
              recordLatencyMs(histogram, performance.now() - intended);
            } else {
              failed++;
            }
            inFlight--;
            if (sent >= schedule.total && inFlight === 0) resolve();
          });
        }
        if (sent < schedule.total) setTimeout(tick, 1); // not setImmediate: a spinning client would take the CPU the control plane needs
        else if (inFlight === 0) resolve();
      };
      tick();
    });
    const cpu = process.cpuUsage(cpuBefore);
    return { line: `${answered} answered, ${failed} failed, ${skipped} not sent (in-flight bound)`, clientCpuSeconds: (cpu.user + cpu.system) / 1e6 };
  } finally {
    client.close();
  }
}

/** takes "0m1.250s"; returns seconds. */
const shellSeconds = (text: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(text);
  return m === null ? 0 : Number(m[1]) * 60 + Number(m[2]);
};

/**
 * h2load (nghttp2-client) as the load generator: one connection, --max-in-flight streams, --rps Checks per second,
 * one framed CheckRequest body (gRPC's 5-byte prefix), latencies from its per-request log. Its CPU is read with the
 * shell's `times` (children's user and system time). Resolves null when h2load is not installed.
 */
async function runH2load(run: Run, dir: string, histogram: Histogram): Promise<RunResult | null> {
  if (spawnSync('sh', ['-c', 'command -v h2load'], { encoding: 'utf8' }).status !== 0) return null;
  // Request 2: a user on /api: both rules are evaluated and one handler is called (the heavier of the bench's two
  // kinds of allowed request; the grpc-js run mixes both and the denials).
  const message = encodeCheck(2);
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  const body = join(dir, 'check-request.bin');
  const log = join(dir, 'h2load.tsv');
  writeFileSync(body, framed);
  const args = [
    '-c', '1', '-m', String(run.maxInFlight), '--rps', String(run.rate), '-n', String(Math.round(run.rate * run.seconds)),
    '-d', body, '-H', 'content-type: application/grpc', '-H', 'te: trailers', '--log-file', log,
    `http://127.0.0.1:${run.port}${CHECK_PATH}`,
  ];
  // A short warm-up run first (the timed run's log holds only its own requests).
  const warm = ['-c', '1', '-m', '50', '-n', '2000', '-d', body, '-H', 'content-type: application/grpc', '-H', 'te: trailers', `http://127.0.0.1:${run.port}${CHECK_PATH}`];
  const script = `h2load ${warm.map(quote).join(' ')} >/dev/null || exit 1; h2load ${args.map(quote).join(' ')} >/dev/null || exit 1; times`;
  const output = await new Promise<string>((resolve, reject) => {
    execFile('bash', ['-c', script], { encoding: 'utf8', timeout: (run.seconds + 60) * 1000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`h2load failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
  const children = output.trim().split('\n').at(-1)!.split(/\s+/);
  let ok = 0;
  let other = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const [, code, micros] = line.split('\t');
    if (micros === undefined) continue;
    if (code === '200') {
      ok++;
      recordLatencyMs(histogram, Number(micros) / 1000);
    } else {
      other++;
    }
  }
  return { line: `${ok} answered HTTP 200, ${other} other (latency from each stream's start: h2load paces by --rps)`, clientCpuSeconds: shellSeconds(children[0]!) + shellSeconds(children[1]!) };
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] ?? fallback : fallback;
}

async function main(): Promise<void> {
  const rate = numberOption('rate', 5000);
  const seconds = numberOption('duration', 10);
  const maxInFlight = numberOption('max-in-flight', 64);
  const which = option('client', 'both');
  if (!['grpc-js', 'h2load', 'both'].includes(which)) throw new Error('--client must be grpc-js, h2load or both');
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-bench-mixer-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'policy.yaml'), POLICY);
  const control = await startControl(dir);
  const run: Run = { rate, seconds, maxInFlight, port: control.port };
  try {
    // One Check through the ordinary client: the policy answers (a denial for beta on /api).
    const probe = new MixerClient(control.port);
    const answer = await probe.check(attrs(0));
    probe.close();
    if (answer.precondition.status.code !== 7) throw new Error(`the bench policy did not deny a beta user (status ${answer.precondition.status.code})`);
    process.stdout.write(`mixer Check at ${rate}/s for ${seconds}s (max ${maxInFlight} in flight); load average before: ${loadText()}, ${cpus().length} cores\n`);
    const clients: ['grpc-js' | 'h2load', (h: Histogram) => Promise<RunResult | null>][] = [];
    if (which !== 'h2load') clients.push(['grpc-js', (h) => runGrpcJs(run, h)]);
    if (which !== 'grpc-js') clients.push(['h2load', (h) => runH2load(run, dir, h)]);
    for (const [name, go] of clients) {
      const histogram = createLatencyHistogram();
      const before = await serverCounts(control.adminPort);
      const cpuBefore = sampleProcess(control.child.pid!);
      const result = await go(histogram);
      const cpuAfter = sampleProcess(control.child.pid!);
      const after = await serverCounts(control.adminPort);
      if (result === null) {
        process.stdout.write(`[${name}] skipped: h2load is not installed (Debian: apt-get install nghttp2-client)\n`);
        continue;
      }
      const s = summarizeLatency(histogram);
      const checks = after.count - before.count;
      process.stdout.write(
        `[${name}] ${result.line}\n`
        + `  latency: p50 ${s.p50_ms.toFixed(3)} ms, p90 ${s.p90_ms.toFixed(3)} ms, p99 ${s.p99_ms.toFixed(3)} ms, p99.9 ${s.p999_ms.toFixed(3)} ms, max ${s.max_ms.toFixed(3)} ms (goal p99 < 1 ms: ${s.p99_ms < 1 ? 'met' : 'not met'})\n`
        + `  ${serverSide(before, after)}\n`
        + `  CPU per Check (incl. warm-up): control plane ${checks === 0 ? '?' : (((cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) / checks) * 1e6).toFixed(0)} µs (all its threads), client ${checks === 0 ? '?' : ((result.clientCpuSeconds / checks) * 1e6).toFixed(0)} µs; load average after: ${loadText()}\n`,
      );
    }
  } finally {
    control.child.kill('SIGTERM');
    await new Promise((r) => control.child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
