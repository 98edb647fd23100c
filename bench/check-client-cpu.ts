// `node dist/bench/check-client-cpu.js [--calls N] [--concurrency C] [--rounds R]`:
// the agent's Check client CPU per Check, by itself. A trivial node:http2
// server (trivial-h2-server.ts, its own process) answers every Check at once;
// this process sends N Checks through PolicyClient (the class the agent runs,
// 1000 different attribute sets, no joining) keeping C in flight, and prints
// this process's CPU (user + system) per Check: the client's cost without the
// control plane, pacing or latency histograms. Rounds alternate nothing (one
// client); take the median of several rounds on a shared machine. Each round
// also runs the same Checks as bare node:http2 streams (one pre-framed
// request, no codec, no deadline, no PolicyClient): the floor node:http2
// itself sets, so the share of the cost that is the agent's own code shows.
import { spawn } from 'node:child_process';
import { connect } from 'node:http2';
import { join } from 'node:path';
import { PolicyClient } from '../workers/agent/policy-client.js';
import { createMixerCounters } from '../workers/filters/mixer/mixer-counters.js';
import { encodeAttributes } from '../control/mixer/attribute-message.js';
import type { CheckCall, WireAttributes } from '../workers/filters/mixer/policy-transport.js';
import { createLogger } from '../src/log.js';
import { median } from './result-row.js';

function numberOption(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const attrs = (i: number) => ({ 'request.path': i % 2 === 0 ? '/api/items' : '/static/app.js', 'request.headers': { 'x-user': `user-${i}` }, 'request.method': 'GET' });

async function main(): Promise<void> {
  const calls = numberOption('calls', 20_000);
  const concurrency = numberOption('concurrency', 8);
  const rounds = numberOption('rounds', 3);
  const server = spawn(process.execPath, [join(import.meta.dirname, 'trivial-h2-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('exit', (code) => reject(new Error(`the trivial server exited (${code})`)));
    server.stdout!.setEncoding('utf8').once('data', (line: string) => resolve((JSON.parse(line) as { port: number }).port));
  });
  const client = new PolicyClient({ control: { target: `127.0.0.1:${port}`, caPath: null }, clusterEndpoint: () => null, counters: createMixerCounters(), log: createLogger('check-client-cpu', 'error') });
  const list: CheckCall[] = Array.from({ length: 1000 }, (_, i) => ({
    target: '', key: '', attributes: encodeAttributes(attrs(i)) as WireAttributes, quotas: [], deduplicationId: '',
    timeoutMs: 5000, maxRetry: 0, baseRetryWaitMs: 10, maxRetryWaitMs: 100,
  }));
  const runCalls = (n: number): Promise<number> => new Promise((resolve, reject) => {
    let sent = 0;
    let answered = 0;
    let failed = 0;
    const next = (): void => {
      const i = sent++;
      client.check(list[i % list.length]!, (outcome) => {
        if (!outcome.ok) failed++;
        if (++answered === n) resolve(failed);
        else if (sent < n) next();
      });
    };
    for (let k = 0; k < Math.min(concurrency, n); k++) next();
    setTimeout(() => reject(new Error(`check-client-cpu: ${n - answered} Checks unanswered after 120 s`)), 120_000).unref();
  });
  const session = connect(`http://127.0.0.1:${port}`);
  const framed = Buffer.from([0, 0, 0, 0, 0]);
  const bareCalls = (n: number): Promise<number> => new Promise((resolve) => {
    let sent = 0;
    let answered = 0;
    const next = (): void => {
      sent++;
      const stream = session.request({ ':method': 'POST', ':path': '/isthmus.mixer.v1.Mixer/Check', 'content-type': 'application/grpc', te: 'trailers' });
      stream.on('data', () => undefined);
      stream.on('close', () => {
        if (++answered === n) resolve(0);
        else if (sent < n) next();
      });
      stream.end(framed);
    };
    for (let k = 0; k < Math.min(concurrency, n); k++) next();
  });
  const measure = async (go: (n: number) => Promise<number>): Promise<number> => {
    const before = process.cpuUsage();
    const failed = await go(calls);
    const cpu = process.cpuUsage(before);
    if (failed > 0) throw new Error(`check-client-cpu: ${failed} Checks failed`);
    return (cpu.user + cpu.system) / calls;
  };
  try {
    // Warm-up: JIT, the connections.
    await runCalls(Math.min(5000, calls));
    await bareCalls(Math.min(5000, calls));
    const perCheck: number[] = [];
    const bare: number[] = [];
    for (let r = 0; r < rounds; r++) {
      perCheck.push(await measure(runCalls));
      bare.push(await measure(bareCalls));
      process.stdout.write(`round ${r + 1}: PolicyClient ${perCheck.at(-1)!.toFixed(1)} µs, bare node:http2 ${bare.at(-1)!.toFixed(1)} µs of client CPU per Check (${calls} Checks, ${concurrency} in flight)\n`);
    }
    process.stdout.write(`median: PolicyClient ${median(perCheck).toFixed(1)} µs, bare node:http2 ${median(bare).toFixed(1)} µs per Check\n`);
  } finally {
    session.close();
    client.close();
    server.kill('SIGTERM');
  }
}

await main();
