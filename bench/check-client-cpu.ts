// `node dist/bench/check-client-cpu.js [--calls N] [--concurrency C] [--rounds R]`:
// the agent's Check client CPU per Check, by itself. A trivial node:http2
// server (trivial-h2-server.ts, its own process) answers every Check at once;
// this process sends N Checks through PolicyClient (the class the agent runs,
// 1000 different attribute sets, no joining) keeping C in flight, and prints
// this process's CPU (user + system) per Check: the client's cost without the
// control plane, pacing or latency histograms. Rounds alternate nothing (one
// client); take the median of several rounds on a shared machine.
import { spawn } from 'node:child_process';
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
  try {
    await runCalls(5000); // warm-up: JIT, the connection
    const perCheck: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const before = process.cpuUsage();
      const failed = await runCalls(calls);
      const cpu = process.cpuUsage(before);
      if (failed > 0) throw new Error(`check-client-cpu: ${failed} Checks failed`);
      perCheck.push((cpu.user + cpu.system) / calls);
      process.stdout.write(`round ${r + 1}: ${perCheck.at(-1)!.toFixed(1)} µs of client CPU per Check (${calls} Checks, ${concurrency} in flight)\n`);
    }
    process.stdout.write(`median: ${median(perCheck).toFixed(1)} µs per Check\n`);
  } finally {
    client.close();
    server.kill('SIGTERM');
  }
}

await main();
