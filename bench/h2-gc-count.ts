// Garbage collections per 10k h2load requests through the proxy (one worker), per build: young (Scavenge) and
// full (Mark-Compact) collections come at a rate set by the bytes each request allocates and keeps, not by the
// machine's load, so builds compare on a shared machine where CPU time does not. Each build runs in turn behind the
// same upstreams (h2-bench.ts's) with --trace-gc; after WARM requests and a pause, N requests are counted by the
// collections the trace stamps past that moment (ms since the proxy's isolate started, matched to the wall clock
// at its start: tens of ms either way, inside the pause).
// Run: npx tsc -p . && node dist/bench/h2-gc-count.js WARM N ROUNDS NAME=CHECKOUT [NAME=CHECKOUT ...]
//   e.g. node dist/bench/h2-gc-count.js 10000 40000 2 base=/work/base new=.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { forkUpstreams, isthmusBootstrap, waitPort } from './h2-bench.js';
import { freePort } from './peers.js';

const run = promisify(execFile);
const NODE_FLAGS = ['--max-semi-space-size=1', '--no-sparkplug', '--optimize-for-size', '--expose-gc'];
const PAUSE_MS = 500;
const LOAD_TIMEOUT_MS = 300_000;

async function h2load(port: number, n: number): Promise<number> {
  const { stdout } = await run('h2load', ['-c', '4', '-m', '16', '-n', String(n), `http://127.0.0.1:${port}/`], { timeout: LOAD_TIMEOUT_MS, maxBuffer: 1 << 22 });
  return Number(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(stdout)?.[1] ?? 0);
}

/** One build, one round: collections in the counted window. */
async function count(dir: string, upPorts: [number, number], spec: string, warm: number, n: number): Promise<{ name: string; young: number; full: number; ok: number }> {
  const eq = spec.indexOf('=');
  const name = spec.slice(0, eq);
  const [grpcPort, h2Port] = [await freePort(), await freePort()];
  writeFileSync(join(dir, `${name}.yaml`), isthmusBootstrap(grpcPort, upPorts[0], h2Port, upPorts[1]));
  const log = join(dir, `${name}.gc`);
  const fd = openSync(log, 'w');
  const started = performance.now();
  const proxy = spawn(process.execPath, [...NODE_FLAGS, '--trace-gc', join(resolve(spec.slice(eq + 1)), 'bin', 'isthmus.js'), 'proxy',
    '--bootstrap', join(dir, `${name}.yaml`), '--admin-port', '0', '--data-dir', join(dir, `${name}-data`), '--workers', '1', '--access-log', 'off'], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  try {
    await waitPort(h2Port);
    await h2load(h2Port, warm);
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const from = performance.now() - started;
    const ok = await h2load(h2Port, n);
    let young = 0;
    let full = 0;
    for (const line of readFileSync(log, 'latin1').split('\n')) {
      const m = /^\[\d+:0x[0-9a-f]+\]\s+(\d+) ms: (Scavenge|Mark-Compact)/.exec(line);
      if (m === null || Number(m[1]) < from) continue;
      if (m[2] === 'Scavenge') young++;
      else full++;
    }
    return { name, young, full, ok };
  } finally {
    proxy.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const [warm, n, rounds, ...specs] = process.argv.slice(2);
  if (!(Number(warm) >= 16) || !(Number(n) >= 16) || !(Number(rounds) >= 1) || specs.length === 0 || specs.some((s) => !s.includes('='))) {
    console.error('usage: h2-gc-count.js WARM N ROUNDS NAME=CHECKOUT [NAME=CHECKOUT ...]');
    process.exitCode = 2;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-h2gc-'));
  const upPorts: [number, number] = [await freePort(), await freePort()];
  const up = await forkUpstreams(...upPorts);
  try {
    for (let r = 0; r < Number(rounds); r++) {
      for (const s of specs) {
        const c = await count(dir, upPorts, s, Number(warm), Number(n));
        const per = (x: number): string => (x * 10_000 / Number(n)).toFixed(1);
        console.log(`round ${r + 1} ${c.name}: ${per(c.young)} young and ${per(c.full)} full collections per 10k requests (${c.young}/${c.full} in ${n}, ${c.ok} succeeded, after ${warm})`);
      }
    }
  } finally {
    up.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
