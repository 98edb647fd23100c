// What one Report call costs the agent's thread (the data plane's own with
// --workers 1) at a sidecar's usual rate, where nothing stays warm between
// calls: the lean HTTP/2 client (workers/agent/policy-unary-client.ts) sends
// a framed ReportRequest of N entries (report-encoder.ts, the report
// scenario's attributes) to bench/mixer-bench-server.ts at R calls/s. Per
// round: the process's CPU over `calls` paced calls minus the same paced
// loop without calls (the timer wake-ups and the batch's copy), divided by
// `calls`; the main thread's voluntary context switches per call likewise
// (its wake-ups). Median over rounds. At 1000 req/s and the default
// report_batch_max_entries (100) a sidecar makes 10 calls/s, so a call's
// CPU / 100 is what Report's sending costs per request.
// Run: node <the bin's node flags> dist/bench/report-call-cpu.js [--rate R] [--calls N] [--entries N] [--rounds N]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PolicyUnaryClient } from '../workers/agent/policy-unary-client.js';
import { ReportPlan, WireWriter, appendReportEntry, GRPC_PREFIX_BYTES } from '../workers/filters/mixer/report-encoder.js';
import { RequestAttributeBag, computedType } from '../workers/filters/mixer/request-attribute-bag.js';
import { compiledSibling } from '../src/process/compiled-path.js';

const NAMES = ['request.method', 'request.path', 'request.time', 'response.code', 'response.duration', 'context.protocol'];
const REPORT_PATH = '/isthmus.mixer.v1.Mixer/Report';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
/** The main thread's voluntary context switches (each one a wake-up after a wait). */
const switches = (): number => Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8'))?.[1] ?? 0);

function framedBatch(entries: number): Buffer {
  const plan = new ReportPlan(NAMES, new Map(), computedType);
  const listener = { statics: new Map(), destinationIp: '127.0.0.1', destinationPort: 15006 };
  const w = new WireWriter();
  w.pos = GRPC_PREFIX_BYTES;
  for (let i = 0; i < entries; i++) {
    const bag = new RequestAttributeBag({
      method: 'GET', path: `/items/${i}`, query: '', authority: 'bench', headers: [], requestId: '', scheme: 'http',
      bytesReceived: 0, bytesSent: 1024, responseCode: 200, startMark: performance.now() - 0.3,
      conn: { remoteAddress: '127.0.0.1', remotePort: 40000, peerUriSan: '', tlsVersion: '' },
    }, listener);
    bag.responded = true;
    appendReportEntry(w, plan, bag);
  }
  const framed = Buffer.from(w.buf.subarray(0, w.pos));
  framed[0] = 0;
  framed.writeUInt32BE(w.pos - GRPC_PREFIX_BYTES, 1);
  return framed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rate: { type: 'string', default: '10' }, calls: { type: 'string', default: '40' }, entries: { type: 'string', default: '100' }, rounds: { type: 'string', default: '5' } } });
  const rate = Number(values.rate);
  const calls = Number(values.calls);
  const rounds = Number(values.rounds);
  if (!(rate > 0 && rate <= 1000) || !(calls > 0 && calls <= 10_000) || !(rounds > 0 && rounds <= 100)) throw new Error('--rate 1-1000, --calls 1-10000, --rounds 1-100');
  const framed = framedBatch(Math.max(1, Math.min(10_000, Number(values.entries))));
  const server = spawn(process.execPath, [compiledSibling(import.meta.url, 'mixer-bench-server.js'), '--cacheable'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const client = new PolicyUnaryClient(`127.0.0.1:${await serverPort(server.stdout!)}`, null);
  try {
    let failed = 0;
    const call = (): Promise<void> => new Promise((resolve) => client.callFramed(REPORT_PATH, Buffer.from(framed), 5000, (err) => {
      if (err !== null) failed++;
      resolve();
    }));
    for (let i = 0; i < 50; i++) await call(); // the session open, the code paths loaded
    const cpu: number[] = [];
    const wakes: number[] = [];
    for (let round = 0; round < rounds; round++) {
      let s0 = switches();
      let c0 = cpuUs();
      for (let i = 0; i < calls; i++) {
        Buffer.from(framed);
        await sleep(1000 / rate);
      }
      const idleCpu = cpuUs() - c0;
      const idleSwitches = switches() - s0;
      s0 = switches();
      c0 = cpuUs();
      for (let i = 0; i < calls; i++) {
        client.callFramed(REPORT_PATH, Buffer.from(framed), 5000, (err) => void (err !== null && failed++));
        await sleep(1000 / rate);
      }
      cpu.push((cpuUs() - c0 - idleCpu) / calls);
      wakes.push((switches() - s0 - idleSwitches) / calls);
    }
    if (failed > 0) throw new Error(`${failed} Report calls failed`);
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    console.log(`Report call of ${framed.length} B at ${rate}/s: ${median(cpu).toFixed(0)} µs CPU per call (rounds ${cpu.map((x) => x.toFixed(0)).join(' ')}), ${median(wakes).toFixed(2)} extra wake-ups per call; node ${process.version} ${process.execArgv.join(' ')}`);
  } finally {
    client.close();
    server.kill();
  }
}

function serverPort(stdout: NodeJS.ReadableStream): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('mixer-bench-server not ready in 20 s')), 20_000);
    let text = '';
    stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      for (const line of text.split('\n')) {
        const m = /"msg":"mixer ready".*?"port":(\d+)|"port":(\d+).*?"msg":"mixer ready"/.exec(line);
        if (m !== null) {
          clearTimeout(timer);
          resolve(Number(m[1] ?? m[2]));
        }
      }
      if (text.length > 65_536) text = text.slice(-4096);
    });
  });
}

await main();
