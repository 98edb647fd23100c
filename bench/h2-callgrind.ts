// Instructions per HTTP/2 request in the proxy (one worker), counted by callgrind: a figure the load of a shared
// machine does not move, where CPU per request does (by a third and more at a load average of 15 on 2 cores). Each
// build named runs under valgrind at once, behind the same upstreams (h2-bench.ts's); after WARM requests (the JIT
// settled) the counts are zeroed, then N requests are counted. Major collections come every few thousand gRPC
// requests, so a window of thousands is needed for them to average out; the event loops alone (the JS and native
// work of the requests, without the collections that ran on them) are printed too, as the steadier figure.
// Run: npx tsc -p . && node dist/bench/h2-callgrind.js grpc|h2load WARM N NAME=CHECKOUT [NAME=CHECKOUT ...]
//   e.g. node dist/bench/h2-callgrind.js grpc 8000 8000 base=/work/base new=.
// Needs valgrind (callgrind_control) and, for h2load, nghttp2-client. Slow: some minutes per 10k gRPC requests.
import { execFile, execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { forkUpstreams, isthmusBootstrap } from './h2-bench.js';
import { freePort } from './peers.js';

const run = promisify(execFile);
const SELF = fileURLToPath(import.meta.url);
/** bin/isthmus.js's #! flags: the proxy as installed. */
const NODE_FLAGS = ['--max-semi-space-size=1', '--no-sparkplug', '--optimize-for-size', '--expose-gc'];
const IN_FLIGHT = 32;
/** Per load (under valgrind the proxy runs some 50 times slower). */
const LOAD_TIMEOUT_MS = 1_800_000;
const id = (b: Buffer): Buffer => b;
/** Every proxy started, killed at the end: one build failing must not leave the others running under valgrind. */
const proxies = new Set<ChildProcess>();
const UNARY = { path: '/bench.Echo/Unary', requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id };

/** Child: `count` unary calls to target, IN_FLIGHT at a time; prints {done, errors}. */
async function grpcCount(target: string, count: number): Promise<void> {
  const Client = grpc.makeGenericClientConstructor({ unary: UNARY }, 'Echo');
  const client = new Client(target, grpc.credentials.createInsecure());
  const payload = Buffer.alloc(100, 'p');
  let started = 0;
  let finished = 0;
  let errors = 0;
  await new Promise<void>((done) => {
    const one = (): void => {
      if (started >= count) {
        if (finished === count) done();
        return;
      }
      started++;
      client.makeUnaryRequest(UNARY.path, id, id, payload, (err) => {
        finished++;
        if (err) errors++;
        one();
      });
    };
    for (let i = 0; i < IN_FLIGHT; i++) one();
  });
  client.close();
  process.stdout.write(JSON.stringify({ done: count - errors, errors }) + '\n');
}

interface Proxy {
  readonly name: string;
  readonly grpcPort: number;
  readonly h2Port: number;
}

/** `count` requests through the proxy; returns how many succeeded. */
async function load(mode: string, p: Proxy, count: number): Promise<number> {
  if (mode === 'grpc') {
    const child = fork(SELF, ['grpc-count', `127.0.0.1:${p.grpcPort}`, String(count)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), LOAD_TIMEOUT_MS);
    await new Promise((r) => child.on('exit', r));
    clearTimeout(timer);
    return out.trim() === '' ? 0 : (JSON.parse(out) as { done: number }).done;
  }
  // h2load refuses fewer requests than clients (the one-request probe).
  const { stdout } = await run('h2load', ['-c', String(Math.min(4, count)), '-m', '16', '-n', String(count), `http://127.0.0.1:${p.h2Port}/`], { timeout: LOAD_TIMEOUT_MS, maxBuffer: 1 << 22 });
  return Number(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(stdout)?.[1] ?? 0);
}

/** Instructions in a callgrind dump: all threads, and the event loops without the collections run on them. */
function counted(file: string): { all: number; loop: number } {
  const text = readFileSync(file, 'latin1');
  const all = Number(/\n(?:summary|totals): (\d+)/.exec(text)?.[1] ?? NaN);
  // callgrind_annotate's inclusive figures for uv_run (the event loop) and Heap::CollectGarbage (on that thread).
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], { maxBuffer: 1 << 26 }).toString();
  const inclusive = (re: RegExp): number => Number((re.exec(annotated)?.[1] ?? '0').replace(/,/g, ''));
  // Optimising compiles the loop waits on (Join) are taken out too: how many fall in the window varies from run to run.
  return {
    all,
    loop: inclusive(/^\s*([\d,]+) .*:uv_run /m) - inclusive(/^\s*([\d,]+) .*Heap::CollectGarbage\(/m)
      - inclusive(/^\s*([\d,]+) .*OptimizingCompileDispatcher::CompileTask::RunInternal\(/m),
  };
}

async function measure(mode: string, warm: number, n: number, dir: string, ports: [number, number], spec: string): Promise<string> {
  const eq = spec.indexOf('=');
  const name = spec.slice(0, eq);
  const checkout = resolve(spec.slice(eq + 1));
  const p: Proxy = { name, grpcPort: await freePort(), h2Port: await freePort() };
  writeFileSync(join(dir, `${name}.yaml`), isthmusBootstrap(p.grpcPort, ports[0], p.h2Port, ports[1]));
  const out = join(dir, `callgrind.${name}`);
  const proxy = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}`, process.execPath, ...NODE_FLAGS, join(checkout, 'bin', 'isthmus.js'), 'proxy',
    '--bootstrap', join(dir, `${name}.yaml`), '--admin-port', '0', '--data-dir', join(dir, `${name}-data`), '--workers', '1', '--access-log', 'off'], { stdio: 'ignore' });
  proxies.add(proxy);
  try {
    // Up once one request goes through (valgrind takes its time to start).
    for (let i = 0; (await load(mode, p, 1).catch(() => 0)) !== 1; i++) {
      if (i >= 150 || proxy.exitCode !== null) throw new Error(`${name}: the proxy under valgrind never answered`);
      await new Promise((r) => setTimeout(r, 2000));
    }
    await load(mode, p, warm);
    execFileSync('callgrind_control', ['-z', String(proxy.pid)], { stdio: 'ignore' });
    const ok = await load(mode, p, n);
    execFileSync('callgrind_control', ['-d', String(proxy.pid)], { stdio: 'ignore' });
    // The zeroed window's dump is the first one asked for (the one at exit is still to come, and not read).
    const c = counted(`${out}.1`);
    return `${mode} ${name}: ${(c.all / n / 1000).toFixed(1)}k instructions per request, ${(c.loop / n / 1000).toFixed(1)}k on the event loops without their collections (${n} requests, ${ok} succeeded, after ${warm})`;
  } finally {
    proxy.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const [mode, warm, n, ...specs] = process.argv.slice(2);
  if ((mode !== 'grpc' && mode !== 'h2load') || !(Number(warm) >= 0) || !(Number(n) > 0) || specs.length === 0 || specs.some((s) => !s.includes('='))) {
    console.error('usage: h2-callgrind.js grpc|h2load WARM N NAME=CHECKOUT [NAME=CHECKOUT ...]');
    process.exitCode = 2;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-h2cg-'));
  const ports: [number, number] = [await freePort(), await freePort()];
  const up = await forkUpstreams(...ports);
  try {
    const lines = await Promise.all(specs.map((s) => measure(mode, Number(warm), Number(n), dir, ports, s)));
    for (const l of lines) console.log(l);
  } finally {
    for (const proxy of proxies) proxy.kill('SIGTERM');
    up.kill('SIGTERM');
    // ISTHMUS_CG_KEEP=1 keeps the dumps (callgrind.NAME.1) for callgrind_annotate; the directory is printed.
    if (process.env.ISTHMUS_CG_KEEP === '1') console.log(`dumps kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === SELF) {
  if (process.argv[2] === 'grpc-count') void grpcCount(process.argv[3]!, Number(process.argv[4]));
  else void main();
}
