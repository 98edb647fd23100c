// `npm run bench:mixer`: the latency of the control plane's Mixer Check RPC at
// a fixed rate (issue 14's target: p99 under 1 ms at 5000 checks/s). A real
// `isthmus control` child process runs a small policy (a denier rule on a
// header and path, an allow rule on a path prefix: every Check evaluates
// both, and half of them call an adapter on the pool); this process sends
// Checks open-loop over one @grpc/grpc-js channel, at most --max-in-flight
// outstanding, with a different x-user value per request (no answer reuse:
// the proxy's check cache is not involved). Latency counts from each Check's
// intended send time (no coordinated omission). The control plane's own
// isthmus_mixer_check_duration_seconds (arrival to answer, inside the
// server) is read from its /metrics afterwards, to tell the policy's cost
// from the RPC's. Options: --rate N (5000), --duration S (10),
// --max-in-flight N (64).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/process/compiled-path.js';
import { MixerClient } from '../control/mixer/mixer-client.js';
import { OpenLoopSchedule } from './open-loop-schedule.js';
import { sampleProcess } from './process-sampler.js';
import { createLatencyHistogram, recordLatencyMs, summarizeLatency } from './latency-histogram.js';

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

function option(name: string, fallback: number): number {
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
      reject(new Error('isthmus control was not ready within 20 s'));
    }, 20_000);
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

/** The server-side Check latency from the control plane's histogram: count, mean, and the bucket bounds holding p50 and p99. */
async function serverSide(adminPort: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const buckets = [...text.matchAll(/^isthmus_mixer_check_duration_seconds_bucket\{le="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1]!, Number(m[2])] as const);
  const count = Number(/^isthmus_mixer_check_duration_seconds_count (\d+)$/m.exec(text)?.[1] ?? 0);
  const sum = Number(/^isthmus_mixer_check_duration_seconds_sum (\S+)$/m.exec(text)?.[1] ?? 0);
  const at = (q: number): string => {
    const found = buckets.find(([, n]) => n >= q * count);
    return found === undefined ? '?' : found[0] === '+Inf' ? '> 2.5 s' : `<= ${(Number(found[0]) * 1000).toFixed(2)} ms`;
  };
  return `server side (arrival to answer, ${count} Checks incl. warm-up): mean ${count === 0 ? 0 : ((sum / count) * 1e6).toFixed(0)} µs, p50 ${at(0.5)}, p99 ${at(0.99)}`;
}

async function main(): Promise<void> {
  const rate = option('rate', 5000);
  const seconds = option('duration', 10);
  const maxInFlight = option('max-in-flight', 64);
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-bench-mixer-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'policy.yaml'), POLICY);
  const control = await startControl(dir);
  const port = control.port;
  const client = new MixerClient(port);
  try {
    const attrs = (i: number) => ({ 'request.path': i % 2 === 0 ? '/api/items' : '/static/app.js', 'request.headers': { 'x-user': i % 10 === 0 ? 'beta' : `user-${i}` }, 'request.method': 'GET' });
    // Warm-up: JIT on both sides, the pool threads, the channel.
    for (let i = 0; i < 2000; i += 50) await Promise.all(Array.from({ length: 50 }, (_, k) => client.check(attrs(i + k))));
    const histogram = createLatencyHistogram();
    const cpuBefore = sampleProcess(control.child.pid!);
    const clientBefore = process.cpuUsage();
    const schedule = new OpenLoopSchedule(performance.now(), rate, seconds * 1000);
    let sent = 0;
    let done = 0;
    let inFlight = 0;
    let denied = 0;
    let failed = 0;
    let skipped = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        const due = schedule.dueBy(now);
        while (sent < due) {
          if (inFlight >= maxInFlight) {
            // Bounded: a Check that cannot be sent in time is counted, never queued without limit.
            skipped++;
            sent++;
            continue;
          }
          const intended = schedule.intendedAt(sent);
          const i = sent++;
          inFlight++;
          client.check(attrs(i)).then(
            (answer) => {
              recordLatencyMs(histogram, performance.now() - intended);
              if ((answer.precondition.status.code ?? 0) !== 0) denied++;
            },
            () => failed++,
          ).finally(() => {
            inFlight--;
            done++;
            if (sent >= schedule.total && inFlight === 0) resolve();
          });
        }
        if (sent < schedule.total) setTimeout(tick, 1); // not setImmediate: a spinning client would take the CPU the control plane needs
        else if (inFlight === 0) resolve();
      };
      tick();
    });
    const cpuAfter = sampleProcess(control.child.pid!);
    const clientCpu = process.cpuUsage(clientBefore);
    const s = summarizeLatency(histogram);
    const answered = done - failed;
    process.stdout.write(
      `mixer Check at ${rate}/s for ${seconds}s (max ${maxInFlight} in flight): ${answered} answered (${denied} denied), ${failed} failed, ${skipped} not sent (in-flight bound)\n`
      + `latency: p50 ${s.p50_ms.toFixed(3)} ms, p90 ${s.p90_ms.toFixed(3)} ms, p99 ${s.p99_ms.toFixed(3)} ms, p99.9 ${s.p999_ms.toFixed(3)} ms, max ${s.max_ms.toFixed(3)} ms (goal p99 < 1 ms: ${s.p99_ms < 1 ? 'met' : 'not met'})\n`
      + `${await serverSide(control.adminPort)}\n`
      + `CPU per Check: control plane ${done === 0 ? '?' : (((cpuAfter.cpuSeconds - cpuBefore.cpuSeconds) / done) * 1e6).toFixed(0)} µs (all its threads), this client ${done === 0 ? '?' : ((clientCpu.user + clientCpu.system) / done).toFixed(0)} µs\n`,
    );
  } finally {
    client.close();
    control.child.kill('SIGTERM');
    await new Promise((r) => control.child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
