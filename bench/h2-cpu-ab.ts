// CPU ms per 1000 requests of each build named, gRPC unary or h2load, interleaved round by round behind the same
// upstreams (h2-bench.ts's), each proxy run with its bin/isthmus.js's `#!` V8 flags as `isthmus proxy` runs. The
// figure is the proxy's CPU (/proc, all threads) over the requests counted, so a busy machine moves it far less than
// req/s; the rounds interleave the builds, so a swing in load hits them alike. Medians and every round are printed.
// Run: npx tsc -p . && node dist/bench/h2-cpu-ab.js grpc|h2load SECONDS ROUNDS NAME=CHECKOUT [NAME=CHECKOUT ...]
//   e.g. node dist/bench/h2-cpu-ab.js grpc 4 5 base=/work/base new=.
import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { forkUpstreams, measureGrpc, measureH2load, startProxy, waitPort, withCpu } from './h2-bench.js';
import { findPeerBinary, freePort } from './peers.js';
import { median } from './result-row.js';

interface Build {
  readonly name: string;
  readonly proxy: ChildProcess;
  readonly grpcPort: number;
  readonly h2Port: number;
  readonly cpu: number[];
}

async function main(): Promise<void> {
  const [mode, seconds, rounds, ...specs] = process.argv.slice(2);
  const h2load = mode === 'h2load' ? findPeerBinary('h2load' as 'wrk') : null;
  if ((mode !== 'grpc' && mode !== 'h2load') || !(Number(seconds) >= 1) || !(Number(rounds) >= 1) || specs.length === 0 || specs.some((s) => !s.includes('='))) {
    console.error('usage: h2-cpu-ab.js grpc|h2load SECONDS ROUNDS NAME=CHECKOUT [NAME=CHECKOUT ...]');
    process.exitCode = 2;
    return;
  }
  if (mode === 'h2load' && h2load === null) {
    console.error('h2load: not installed (apt-get install nghttp2-client)');
    process.exitCode = 2;
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-h2ab-'));
  const upPorts: [number, number] = [await freePort(), await freePort()];
  const up = await forkUpstreams(...upPorts);
  const builds: Build[] = [];
  try {
    for (const spec of specs) {
      const eq = spec.indexOf('=');
      const name = spec.slice(0, eq);
      const cli = join(resolve(spec.slice(eq + 1)), 'bin', 'isthmus.js');
      const [grpcPort, h2Port] = [await freePort(), await freePort()];
      const proxy = startProxy(dir, name, [grpcPort, upPorts[0], h2Port, upPorts[1]], {}, cli);
      builds.push({ name, proxy, grpcPort, h2Port, cpu: [] });
    }
    for (const b of builds) await waitPort(b.h2Port);
    const load = (b: Build): Promise<{ rps: number; errors: number }> =>
      mode === 'grpc' ? measureGrpc(`127.0.0.1:${b.grpcPort}`, Number(seconds)) : measureH2load(h2load!, b.h2Port, Number(seconds));
    for (const b of builds) await load(b); // warm: the JIT settled before anything is counted
    for (let r = 0; r < Number(rounds); r++) {
      for (const b of builds) {
        const m = await withCpu(b.proxy.pid ?? null, Number(seconds), () => load(b));
        if (m.errors !== 0) console.log(`${b.name}: ${m.errors} errors in round ${r + 1}`);
        b.cpu.push(m.cpuMsPer1k ?? NaN);
      }
    }
    for (const b of builds) {
      console.log(`${mode} ${b.name}: ${median(b.cpu).toFixed(1)} ms CPU per 1k requests (median)  [${b.cpu.map((c) => c.toFixed(1)).join(', ')}]`);
    }
  } finally {
    for (const b of builds) b.proxy.kill('SIGKILL');
    up.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
