// Where the mesh's added latency sits, without queueing: one keep-alive
// connection sends a request, waits for the whole 1 KB answer, sends the
// next (ping-pong), against direct, the Isthmus pair plaintext and with mTLS,
// and the haproxy pair with mTLS (when installed), in interleaved rounds.
// Each request's round trip then is the two proxies' work plus the process
// wake-ups on the path, with none of the fixed-rate mode's waiting behind
// other requests. Usage: node dist/bench/mesh-pingpong.js [--rounds N] [--requests N]
import { connect, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManagedProcess } from '../src/process/managed-process.js';
import { startIsthmus } from './isthmus-target.js';
import { startHaproxyMtlsMesh } from './mesh-haproxy-mtls.js';
import { startMtlsMesh } from './mesh-mtls-target.js';
import { findPeerBinary } from './peers.js';
import { startUpstream } from './scenarios.js';

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nhost: bench\r\n\r\n');
const HEAD_LIMIT = 16 * 1024;

function numberArg(name: string, fallback: number, max: number): number {
  const i = process.argv.indexOf(name);
  const value = i < 0 ? fallback : Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be an integer from 1 to ${max}`);
  return value;
}

/** n sequential round trips over one connection; resolves with each in ms (rejects after timeoutMs). */
function roundTrips(port: number, n: number, timeoutMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const out: number[] = [];
    let seen = Buffer.alloc(0);
    let need = -1;
    let t0 = 0n;
    const socket: Socket = connect(port, '127.0.0.1', () => send());
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`port ${port}: ${out.length} of ${n} round trips in ${timeoutMs} ms`));
    }, timeoutMs);
    const send = (): void => {
      seen = Buffer.alloc(0);
      need = -1;
      t0 = process.hrtime.bigint();
      socket.write(REQUEST);
    };
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      if (need < 0) {
        const end = seen.indexOf('\r\n\r\n');
        if (end < 0) {
          if (seen.length > HEAD_LIMIT) socket.destroy(new Error('response head too long'));
          return;
        }
        const length = /content-length: *(\d+)/i.exec(seen.subarray(0, end).toString('latin1'));
        need = end + 4 + Number(length?.[1] ?? 0);
      }
      if (seen.length < need) return;
      out.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (out.length < n) return send();
      clearTimeout(timer);
      socket.destroy();
      resolve(out);
    });
  });
}

const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] ?? NaN;
};

async function main(): Promise<void> {
  const rounds = numberArg('--rounds', 5, 100);
  const requests = numberArg('--requests', 1000, 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-pingpong-'));
  const procs: ManagedProcess<unknown>[] = [];
  try {
    const upstream = await startUpstream();
    procs.push(upstream);
    const up = upstream.ready!;
    const targets = new Map<string, number>([['direct', up]]);
    const server = await startIsthmus(up, 1, join(dir, 'plain-server'));
    procs.push(server);
    const client = await startIsthmus(server.ready!.listenPort, 1, join(dir, 'plain-client'));
    procs.push(client);
    targets.set('isthmus x2', client.ready!.listenPort);
    const mtls = await startMtlsMesh(up, join(dir, 'isthmus-mtls'));
    procs.push(...mtls.procs);
    targets.set('isthmus x2 mTLS', mtls.port);
    const haproxy = findPeerBinary('haproxy');
    if (haproxy === null) process.stdout.write('haproxy is not installed: its row is skipped\n');
    else {
      const pair = await startHaproxyMtlsMesh(haproxy, up, join(dir, 'haproxy-mtls'));
      procs.push(...pair.procs);
      targets.set('haproxy x2 mTLS', pair.port);
    }
    const samples = new Map<string, number[]>([...targets.keys()].map((k) => [k, []]));
    for (const port of targets.values()) await roundTrips(port, Math.min(300, requests), 60_000); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const [name, port] of targets) samples.get(name)!.push(...await roundTrips(port, requests, 120_000));
    }
    const direct = samples.get('direct')!;
    const [d50, d90, d99] = [0.5, 0.9, 0.99].map((q) => quantile(direct, q));
    process.stdout.write(`${rounds} rounds x ${requests} sequential requests per target (1 KB answers)\n`);
    process.stdout.write('| path | p50 ms | p90 ms | p99 ms | added p50 ms | added p90 ms | added p99 ms |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n');
    for (const [name, values] of samples) {
      const [p50, p90, p99] = [0.5, 0.9, 0.99].map((q) => quantile(values, q));
      const f = (v: number): string => v.toFixed(3);
      process.stdout.write(`| ${name} | ${f(p50!)} | ${f(p90!)} | ${f(p99!)} | ${f(p50! - d50!)} | ${f(p90! - d90!)} | ${f(p99! - d99!)} |\n`);
    }
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`mesh-pingpong: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
