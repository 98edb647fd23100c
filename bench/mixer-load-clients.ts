// The load generators of `npm run bench:mixer` (mixer-check.ts), each sending
// Mixer Checks to the real control plane at --rate over real sockets:
// - proxy: the sidecar's own Check client (workers/agent/policy-client.ts,
//   @grpc/grpc-js with proto-loader objects, as the agent runs it), open-loop:
//   each Check has an intended send time (open-loop-schedule.ts), a pacing
//   thread wakes the loop when one is due (open-loop-pacer.ts), latency is
//   taken from the intended time (no coordinated omission) into an HDR
//   histogram. This is the latency a sidecar sees: the figure of issue 14.
// - proxy-grpc-js: the agent's Check as it was before policy-unary-client.ts
//   (grpc-js's generated client, proto-loader objects), same timing: the
//   comparison for the client change, in the same run.
// - grpc-js: the same timing with a lean grpc-js client (pre-encoded bytes,
//   answers not decoded): the RPC with the least client work grpc-js allows.
// - h2load: nghttp2's client with --rps. Its rate timer fires every
//   max(10 ms, 1/rps) and submits every request due, so at 5000/s Checks
//   leave in bursts of 50, timed from the burst's submission: each includes
//   waiting for the server to answer the ones ahead of it in the burst.
// - h2load-paced: h2load with a timing script (one line per Check, 1/rate
//   apart): no bursts, timed from each stream's submission (not from the
//   intended time: a late h2load is not charged, and its libev timer drifts,
//   so the achieved rate is printed).
// - h2load-spread: ceil(rate / 100) h2load clients (connections), each at
//   --rps rate / clients (one Check per 10 ms tick: no bursts), connections
//   opened over one tick so their ticks interleave (mixer-rate-plan.ts).
//   h2load's rps schedule is absolute, so it holds the asked rate; each Check
//   is timed from its submission. The open-loop figure from a C client.
// Every client reports the rate it reached; mixer-check.ts's verdict names a
// client that did not reach --rate, or that sent bursts, as the limit.
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { credentials, Client, makeGenericClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { mixerServiceDefinition } from '../src/xds/mixer-protos.js';
import { PolicyClient } from '../workers/agent/policy-client.js';
import { createMixerCounters } from '../workers/filters/mixer/mixer-counters.js';
import type { CheckCall, WireAttributes } from '../workers/filters/mixer/policy-transport.js';
import { createLogger } from '../src/log.js';
import { OpenLoopSchedule } from './open-loop-schedule.js';
import { OpenLoopPacer } from './open-loop-pacer.js';
import { createLatencyHistogram, recordLatencyMs, summarizeLatency, type Histogram } from './latency-histogram.js';
import { reachedRate, spreadPlan } from './mixer-rate-plan.js';

export type LoadClientName = 'proxy' | 'proxy-grpc-js' | 'grpc-js' | 'h2load' | 'h2load-paced' | 'h2load-spread';
export const LOAD_CLIENTS: readonly LoadClientName[] = ['proxy', 'proxy-grpc-js', 'grpc-js', 'h2load', 'h2load-paced', 'h2load-spread'];
/** How runH2load paces: --rps from one client (bursts), a timing script, or --rps spread over many clients. */
export type H2loadPacing = 'rps' | 'paced' | 'spread';

export interface Run {
  readonly rate: number;
  readonly seconds: number;
  readonly maxInFlight: number;
  readonly port: number;
  /** A scratch directory (h2load's request body, logs, timing script). */
  readonly dir: string;
  /** Request i's CheckRequest, serialized (protobuf, unframed). */
  readonly encoded: (i: number) => Buffer;
  /** Request i's attributes as the proxy's filter hands them to the agent. */
  readonly wire: (i: number) => WireAttributes;
}

export interface RunResult {
  /** What was sent and answered, and how the latency was taken. */
  readonly line: string;
  /** Extra lines: the client's own lateness and event-loop delay, or h2load's burst shape. */
  readonly detail: string;
  readonly clientCpuSeconds: number;
  /** Checks sent per second over the run (first to last send). */
  readonly reachedPerSec: number;
  /** Checks planned but never sent (the in-flight bound). */
  readonly notSent: number;
  /** Sent in groups, each timed from its group's submission (h2load --rps from one client). */
  readonly bursty: boolean;
  /** Connections the rate went over (each with --max-in-flight streams at most). */
  readonly connections: number;
}

const CHECK_PATH = '/isthmus.mixer.v1.Mixer/Check';
const DISTINCT_REQUESTS = 1000;
const identity = (b: Buffer): Buffer => b;
const ms = (v: number): string => v.toFixed(3);

/** One Check sent by a Node client; done(true) when it was answered. */
export type SendCheck = (i: number, done: (answered: boolean) => void) => void;

/** A Check still unanswered this long after a warm-up batch went out, or after the plan's last one was due, is given up on. */
export const ANSWER_WAIT_MS = 5000;

/** Resolves once the batch is answered; rejects, naming how many are left, after ANSWER_WAIT_MS. */
function warmUpBatch(send: SendCheck, first: number, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = count;
    const timer = setTimeout(() => reject(new Error(`mixer bench: ${left} of ${count} warm-up Checks unanswered after ${ANSWER_WAIT_MS} ms`)), ANSWER_WAIT_MS);
    for (let k = 0; k < count; k++) {
      send(first + k, () => {
        if (--left > 0) return;
        clearTimeout(timer);
        resolve();
      });
    }
  });
}

/**
 * The open-loop driver of the Node clients: the schedule's Checks are sent when the pacer says they are due (at most
 * maxInFlight outstanding: beyond that one is counted as not sent, never queued), latency from the intended time.
 * Bounded in time whatever the server does: Checks unanswered ANSWER_WAIT_MS after the plan's end are counted as such.
 */
export async function driveOpenLoop(run: Run, send: SendCheck, histogram: Histogram): Promise<RunResult> {
  // Warm-up: JIT on both sides, the channel.
  for (let i = 0; i < 2000; i += 50) await warmUpBatch(send, i, 50);
  const lag = createLatencyHistogram();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpuBefore = process.cpuUsage();
  const schedule = new OpenLoopSchedule(performance.now() + 5, run.rate, run.seconds * 1000);
  let sent = 0;
  let inFlight = 0;
  let failed = 0;
  let skipped = 0;
  let answered = 0;
  let pacer: OpenLoopPacer | undefined;
  let unanswered = 0;
  let sentOut = 0;
  let firstSendMs = 0;
  let lastSendMs = 0;
  let giveUp: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    const finishIfDone = (): void => {
      if (sent >= schedule.total && inFlight === 0) resolve();
    };
    giveUp = setTimeout(() => {
      unanswered = inFlight;
      resolve();
    }, schedule.startMs + schedule.total * schedule.intervalMs + ANSWER_WAIT_MS - performance.now());
    const tick = (): void => {
      const now = performance.now();
      const due = schedule.dueBy(now);
      while (sent < due) {
        const intended = schedule.intendedAt(sent);
        if (inFlight >= run.maxInFlight) {
          skipped++;
          sent++;
          continue;
        }
        recordLatencyMs(lag, now - intended);
        if (sentOut++ === 0) firstSendMs = now;
        lastSendMs = now;
        inFlight++;
        send(sent++, (ok) => {
          if (ok) {
            answered++;
            recordLatencyMs(histogram, performance.now() - intended);
          } else {
            failed++;
          }
          inFlight--;
          finishIfDone();
        });
      }
      finishIfDone();
    };
    pacer = new OpenLoopPacer(schedule, tick);
    finishIfDone(); // a plan of no Checks: the pacer never wakes the loop
  });
  clearTimeout(giveUp);
  const counts = { answered, failed, skipped };
  await pacer?.stop();
  loop.disable();
  const cpu = process.cpuUsage(cpuBefore);
  const l = summarizeLatency(lag);
  return {
    line: `${counts.answered} answered, ${counts.failed} failed, ${unanswered === 0 ? '' : `${unanswered} unanswered after ${ANSWER_WAIT_MS} ms, `}${counts.skipped} not sent (in-flight bound); latency from each Check's intended send time (open loop)`,
    detail: `client lateness (sent - intended): p50 ${ms(l.p50_ms)} ms, p99 ${ms(l.p99_ms)} ms, max ${ms(l.max_ms)} ms; client event-loop lateness (1 ms timer) p99 ${ms(Math.max(0, loop.percentile(99) / 1e6 - 1))} ms, max ${ms(Math.max(0, loop.max / 1e6 - 1))} ms`,
    clientCpuSeconds: (cpu.user + cpu.system) / 1e6,
    reachedPerSec: sentRate(sentOut, firstSendMs, lastSendMs),
    notSent: skipped,
    bursty: false,
    connections: 1,
  };
}

/** takes how many Checks went out between the first and last send (ms); returns per second (n sends: n - 1 intervals). */
function sentRate(count: number, firstMs: number, lastMs: number): number {
  if (count < 2) return count;
  return lastMs > firstMs ? ((count - 1) * 1000) / (lastMs - firstMs) : Infinity;
}

/** The sidecar's client: the agent's PolicyClient, one Check per call (no joining: every call has its own key ''). */
export async function runProxyClient(run: Run, histogram: Histogram): Promise<RunResult> {
  const client = new PolicyClient({
    control: { target: `127.0.0.1:${run.port}`, caPath: null },
    clusterEndpoint: () => null,
    counters: createMixerCounters(),
    log: createLogger('bench-mixer', 'error'),
  });
  const calls: CheckCall[] = Array.from({ length: DISTINCT_REQUESTS }, (_, i) => ({
    target: '', key: '', attributes: run.wire(i), quotas: [], deduplicationId: '',
    timeoutMs: 1000, maxRetry: 0, baseRetryWaitMs: 10, maxRetryWaitMs: 100,
  }));
  try {
    return await driveOpenLoop(run, (i, done) => client.check(calls[i % DISTINCT_REQUESTS]!, (outcome) => done(outcome.ok)), histogram);
  } finally {
    client.close();
  }
}

type GeneratedMixer = Client & { Check(req: unknown, options: { deadline: number }, cb: (err: ServiceError | null) => void): unknown };

/** The agent's Check before policy-unary-client.ts: grpc-js's generated client with proto-loader objects and a deadline. */
export async function runProxyGrpcJs(run: Run, histogram: Histogram): Promise<RunResult> {
  const Mixer = makeGenericClientConstructor(mixerServiceDefinition(), 'Mixer') as unknown as new (target: string, creds: ReturnType<typeof credentials.createInsecure>) => GeneratedMixer;
  const client = new Mixer(`127.0.0.1:${run.port}`, credentials.createInsecure());
  const requests = Array.from({ length: DISTINCT_REQUESTS }, (_, i) => ({ attributes: run.wire(i), deduplication_id: '', quotas: {} }));
  try {
    return await driveOpenLoop(run, (i, done) => {
      client.Check(requests[i % DISTINCT_REQUESTS], { deadline: Date.now() + 1000 }, (err) => done(err === null));
    }, histogram);
  } finally {
    client.close();
  }
}

/** A lean grpc-js client: one channel, requests encoded before the run and sent as bytes, answers not decoded. */
export async function runGrpcJs(run: Run, histogram: Histogram): Promise<RunResult> {
  const bodies = Array.from({ length: DISTINCT_REQUESTS }, (_, i) => run.encoded(i));
  const client = new Client(`127.0.0.1:${run.port}`, credentials.createInsecure());
  try {
    return await driveOpenLoop(run, (i, done) => {
      client.makeUnaryRequest(CHECK_PATH, identity, identity, bodies[i % DISTINCT_REQUESTS]!, (err) => done(err === null));
    }, histogram);
  } finally {
    client.close();
  }
}

/** takes "0m1.250s"; returns seconds. */
const shellSeconds = (text: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(text);
  return m === null ? 0 : Number(m[1]) * 60 + Number(m[2]);
};

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Whether h2load (nghttp2-client) is on the PATH. */
export const h2loadInstalled = (): boolean => spawnSync('sh', ['-c', 'command -v h2load'], { encoding: 'utf8' }).status === 0;

/** takes start times (µs) of an h2load log; returns how many requests shared a submission (within 50 µs): median and max. */
function burstShape(starts: number[]): string {
  starts.sort((a, b) => a - b);
  const sizes: number[] = [];
  let size = 1;
  for (let i = 1; i <= starts.length; i++) {
    if (i < starts.length && starts[i]! - starts[i - 1]! < 50) size++;
    else {
      sizes.push(size);
      size = 1;
    }
  }
  sizes.sort((a, b) => a - b);
  const span = (starts.at(-1)! - starts[0]!) / 1e6;
  return `submitted in ${sizes.length} groups (requests within 50 µs of each other): median ${sizes[sizes.length >> 1]} per group, max ${sizes.at(-1)}; achieved rate ${(starts.length / Math.max(span, 1e-3)).toFixed(0)}/s`;
}

/**
 * h2load as the load generator, one framed CheckRequest body (an allowed /api request that calls a handler). rps: one
 * connection, --rps (bursts); paced: one connection, a timing script; spread: spreadPlan's clients at --rps each,
 * connections opened over one tick. --max-in-flight streams per connection. Latencies from its per-request log; its
 * CPU from the shell's `times`. Resolves null when h2load is not installed.
 */
export async function runH2load(run: Run, histogram: Histogram, pacing: H2loadPacing): Promise<RunResult | null> {
  if (!h2loadInstalled()) return null;
  const message = run.encoded(2);
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  message.copy(framed, 5);
  const body = join(run.dir, 'check-request.bin');
  // A log of its own per run: h2load appends to an existing file.
  const log = join(run.dir, `h2load-${pacing}-${Date.now()}.tsv`);
  writeFileSync(body, framed);
  let total = Math.round(run.rate * run.seconds);
  const url = `http://127.0.0.1:${run.port}${CHECK_PATH}`;
  const headers = ['-d', body, '-H', 'content-type: application/grpc', '-H', 'te: trailers'];
  let load: string[];
  let how: string;
  let connections = 1;
  if (pacing === 'paced') {
    const script = join(run.dir, 'timing-script.txt');
    const interval = 1000 / run.rate;
    const lines: string[] = [];
    for (let i = 0; i < total; i++) lines.push(`${(i * interval).toFixed(3)}\t${url}`);
    writeFileSync(script, `${lines.join('\n')}\n`);
    load = ['-c', '1', '-n', String(total), '--timing-script-file', script];
    how = 'timing script, one client, one Check every 1/rate; latency from each stream\'s submission';
  } else if (pacing === 'spread') {
    const plan = spreadPlan(run.rate, run.seconds);
    total = plan.requests;
    connections = plan.clients;
    load = ['-c', String(plan.clients), '-r', String(plan.connectionsPerMs), '--rate-period', '1ms', '-n', String(total), '--rps', plan.rpsPerClient.toFixed(3), url];
    how = `${plan.clients} clients at --rps ${plan.rpsPerClient.toFixed(1)} each (one Check per 10 ms tick), ${plan.connectionsPerMs} connections opened a ms; latency from each stream's submission`;
  } else {
    load = ['-c', '1', '-n', String(total), '--rps', String(run.rate), url];
    how = '--rps: bursts every 10 ms; latency from the burst\'s submission, so it includes waiting behind the burst';
  }
  const args = [...headers, ...load, '-m', String(run.maxInFlight), '--log-file', log];
  const warm = [...headers, '-c', '1', '-m', '50', '-n', '2000', url];
  const script = `h2load ${warm.map(quote).join(' ')} >/dev/null || exit 1; h2load ${args.map(quote).join(' ')} >/dev/null || exit 1; times`;
  const output = await new Promise<string>((resolve, reject) => {
    execFile('bash', ['-c', script], { encoding: 'utf8', timeout: (run.seconds * 4 + 60) * 1000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`h2load failed: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
  const children = output.trim().split('\n').at(-1)!.split(/\s+/);
  let ok = 0;
  let other = 0;
  const starts: number[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const [start, code, micros] = line.split('\t');
    if (micros === undefined) continue;
    starts.push(Number(start));
    if (code === '200') {
      ok++;
      recordLatencyMs(histogram, Number(micros) / 1000);
    } else {
      other++;
    }
  }
  const reachedPerSec = reachedRate(starts);
  return {
    line: `${ok} answered HTTP 200, ${other} other, ${total - starts.length} not logged (${how})`,
    detail: burstShape(starts),
    clientCpuSeconds: shellSeconds(children[0]!) + shellSeconds(children[1]!),
    reachedPerSec,
    notSent: Math.max(0, total - starts.length),
    bursty: pacing === 'rps',
    connections,
  };
}
