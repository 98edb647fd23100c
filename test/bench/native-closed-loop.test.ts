// The load generator's native closed loop (native/load_loop.cc + response_framer.cc)
// against a real server in another process: every response shape the JS framer
// handles (Content-Length, chunked with extensions and trailers, 204, 1xx interim,
// bodies split over several writes) is framed, >= 400 counts as an error, the
// latencies of the measured window are recorded, and a malformed answer drops
// only its own connection.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runClosedLoop } from '../../src/native.js';

// The server answers each request on a connection with the next shape in its list (cycling).
const SERVER = `
const net = require('net');
const shapes = JSON.parse(process.argv[1]);
net.createServer((c) => {
  let n = 0;
  c.on('data', () => {
    // Each part in its own write, one timer after the previous one so the order holds on a loaded machine.
    const parts = shapes[n++ % shapes.length];
    let i = 0;
    const next = () => { c.write(parts[i++]); if (i < parts.length) setTimeout(next, 1); };
    next();
  });
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;

let server: ChildProcess | null = null;
const sockets: Socket[] = [];

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  server?.kill();
  server = null;
});

async function startServer(shapes: string[][]): Promise<number> {
  server = spawn(process.execPath, ['-e', SERVER, JSON.stringify(shapes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => server!.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
}

async function connectAll(port: number, n: number): Promise<Socket[]> {
  const list = await Promise.all(
    Array.from({ length: n }, () => new Promise<Socket>((resolve) => {
      const s = connect({ port, host: '127.0.0.1', onread: { buffer: Buffer.alloc(65536), callback: () => true } }, () => resolve(s));
    })),
  );
  sockets.push(...list);
  for (const s of list) s.pause(); // the loop reads them now, not Node
  return list;
}

function fdOf(s: Socket): number {
  return (s as unknown as { _handle: { fd: number } })._handle.fd;
}

function run(socks: Socket[], durationMs: number, maxRequests = 1e9): { completed: number; errors: number; sent: number; latencies: number[] } {
  const latencies = new Float64Array(200_000);
  const counters = new Float64Array(4);
  runClosedLoop(Int32Array.from(socks, fdOf), Buffer.from('GET / HTTP/1.1\r\nHost: t\r\n\r\n'), 0, durationMs, maxRequests, latencies, counters);
  return { completed: counters[0]!, errors: counters[1]!, sent: counters[2]!, latencies: [...latencies.subarray(0, counters[3]!)] };
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';

describe('runClosedLoop (the bench client in C++)', () => {
  it('frames every response shape, one request in flight per connection, and times each answer', async () => {
    const port = await startServer([
      [OK],
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n', '3;ext=1\r\nabc\r\n', '0\r\nx-trailer: 1\r\n\r\n'],
      ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n'],
      ['HTTP/1.1 200 OK\r\ncontent-', 'length: 10\r\n\r\n01234', '56789'],
      ['HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n'],
    ]);
    const result = run(await connectAll(port, 4), 400);
    expect(result.errors).toBe(0);
    expect(result.completed).toBeGreaterThan(50);
    // Each connection has at most one request unanswered when the window closes.
    expect(result.sent - result.completed).toBeLessThanOrEqual(4);
    expect(result.latencies).toHaveLength(result.completed);
    for (const ms of result.latencies) expect(ms).toBeGreaterThan(0);
  });

  it('counts status >= 400 as errors, not completions', async () => {
    const port = await startServer([[OK], ['HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n']]);
    const result = run(await connectAll(port, 2), 300);
    expect(result.completed).toBeGreaterThan(10);
    expect(Math.abs(result.errors - result.completed)).toBeLessThanOrEqual(2); // alternating answers
    expect(result.latencies).toHaveLength(result.completed);
  });

  it('drops only the connection that answers garbage and counts it once', async () => {
    const port = await startServer([[OK], [OK], ['SMTP ready\r\n\r\n']]);
    const socks = await connectAll(port, 3);
    const result = run(socks, 300);
    // Every connection reaches its third answer and is dropped there: 3 errors, 2 answers each before.
    expect(result.errors).toBe(3);
    expect(result.completed).toBe(6);
  });

  it('stops at maxRequests', async () => {
    const port = await startServer([[OK]]);
    const result = run(await connectAll(port, 4), 300, 25);
    expect(result.sent).toBe(25);
    expect(result.completed).toBe(25);
  });

  it('rejects bad arguments with a TypeError instead of crashing', () => {
    expect(() => runClosedLoop(new Int32Array(0), Buffer.alloc(0), 0, 1, 1, new Float64Array(1), new Float64Array(4))).toThrow(/request must be a non-empty Buffer/);
    expect(() => runClosedLoop(new Int32Array(0), Buffer.from('x'), 0, 1, 1, new Float64Array(1), new Float64Array(2))).toThrow(/counters needs 4/);
    expect(() => (runClosedLoop as unknown as (...a: unknown[]) => void)([1], Buffer.from('x'), 0, 1, 1, new Float64Array(1), new Float64Array(4))).toThrow(/fds must be an Int32Array/);
  });
});
