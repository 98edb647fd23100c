// What a chunked upload in tiny chunks costs the proxy: CPU seconds (from
// /proc, the whole proxy process) for one 10 MiB body sent in 1-byte chunks
// (60 MiB on the wire), and how long a small request on the same worker
// waits meanwhile. Per-chunk work in JS once cost ~5.5 us a chunk (~60 s for
// this body) and stalled every other request on the worker; the goal is at
// most 1 CPU-second. Run: node dist/bench/tiny-chunks.js [--checkout DIR]
// (DIR: another build to compare, e.g. a checkout of main).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startIsthmus } from './isthmus-target.js';
import { sampleProcess } from './process-sampler.js';

const BODY_BYTES = 10 * 1024 * 1024;

/** The body as 1-byte chunks on the wire, and its sha256. */
function tinyChunkWire(): { wire: Buffer; sha: string } {
  const data = Buffer.alloc(BODY_BYTES);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 11)) & 0xff;
  const wire = Buffer.allocUnsafe(BODY_BYTES * 6 + 5);
  for (let i = 0, p = 0; i < BODY_BYTES; i++, p += 6) {
    wire[p] = 0x31;
    wire[p + 1] = 13;
    wire[p + 2] = 10;
    wire[p + 3] = data[i]!;
    wire[p + 4] = 13;
    wire[p + 5] = 10;
  }
  wire.write('0\r\n\r\n', BODY_BYTES * 6, 'latin1');
  return { wire, sha: createHash('sha256').update(data).digest('hex') };
}

function get(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--checkout');
  const checkout = at > 0 ? process.argv[at + 1] : undefined;
  const upstream = http.createServer((req, res) => {
    const hash = createHash('sha256');
    req.on('data', (c: Buffer) => hash.update(c));
    req.on('end', () => res.end(hash.digest('hex')));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-tiny-chunks-'));
  const proxy = await startIsthmus((upstream.address() as net.AddressInfo).port, 1, dir, checkout === undefined ? {} : { checkout });
  const port = proxy.ready!.listenPort;
  try {
    const { wire, sha } = tinyChunkWire();
    const cpuBefore = sampleProcess(proxy.pid).cpuSeconds;
    const started = performance.now();
    let uploading = true;
    const answer = new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n');
        socket.write(wire); // no half-close: the proxy takes a client's FIN as the client leaving
      });
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    }).finally(() => (uploading = false));
    const probes: number[] = [];
    while (uploading && probes.length < 10_000) {
      const t = performance.now();
      await get(port, '/probe');
      probes.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
    const text = await answer;
    const seconds = (performance.now() - started) / 1000;
    const cpu = sampleProcess(proxy.pid).cpuSeconds - cpuBefore;
    probes.sort((a, b) => a - b);
    const pick = (q: number): string => (probes.length === 0 ? '-' : probes[Math.min(probes.length - 1, Math.floor(q * probes.length))]!.toFixed(1));
    console.log(JSON.stringify({
      build: checkout ?? 'this',
      bodyIntact: text.endsWith(sha),
      wallSeconds: Number(seconds.toFixed(2)),
      proxyCpuSeconds: Number(cpu.toFixed(2)),
      probes: probes.length,
      probeMsMedian: pick(0.5),
      probeMsMax: pick(1),
    }));
  } finally {
    await proxy.stop();
    upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
