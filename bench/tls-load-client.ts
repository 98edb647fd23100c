// The TLS scenario's load client, one process run by bench/tls-scenario.ts
// against every target alike (the native closed loop speaks plain sockets
// only): a closed loop over node:tls with N connections, either keep-alive
// (requests back to back on each connection) or handshake (a new connection,
// hence a full TLS handshake, per request: no session is reused). Prints
// `{"msg":"tls window start"}` and `... end` lines so the caller samples the
// target's CPU over the measured window only, then one result line.
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { parseArgs } from 'node:util';
import { ResponseFramer } from './response-framer.js';

export type TlsLoadMode = 'keepalive' | 'handshake';

export interface TlsLoadResult {
  readonly msg: 'tls load done';
  readonly completed: number;
  readonly errors: number;
  readonly seconds: number;
  readonly p50_ms: number;
  readonly p90_ms: number;
  readonly p99_ms: number;
  readonly p999_ms: number;
  readonly max_ms: number;
}

const MAX_SAMPLES = 1 << 20;

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]! * 1000) / 1000;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      mode: { type: 'string', default: 'keepalive' },
      connections: { type: 'string', default: '50' },
      'warmup-ms': { type: 'string', default: '500' },
      'duration-ms': { type: 'string', default: '2000' },
      ca: { type: 'string' },
      servername: { type: 'string', default: 'bench.local' },
    },
  });
  const port = Number(values.port);
  const mode = values.mode as TlsLoadMode;
  const connections = Number(values.connections);
  const ca = values.ca === undefined ? undefined : readFileSync(values.ca);
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: ${values.servername}\r\n${mode === 'handshake' ? 'Connection: close\r\n' : ''}\r\n`);
  const latencies = new Float64Array(MAX_SAMPLES);
  let samples = 0;
  let measuring = false;
  let stopping = false;
  let completed = 0;
  let errors = 0;
  let windowStart = 0;
  const sockets = new Set<tls.TLSSocket>();

  const record = (startedAt: number): void => {
    if (!measuring) return;
    completed++;
    if (samples < MAX_SAMPLES) latencies[samples++] = performance.now() - startedAt;
  };

  const open = (): void => {
    if (stopping) return;
    let startedAt = performance.now();
    const framer = new ResponseFramer();
    let failed = false;
    const socket = tls.connect({ host: '127.0.0.1', port, servername: values.servername, ALPNProtocols: ['http/1.1'], ...(ca === undefined ? { rejectUnauthorized: false } : { ca }) });
    sockets.add(socket);
    const fail = (): void => {
      if (failed) return;
      failed = true;
      if (measuring) errors++;
      socket.destroy();
      sockets.delete(socket);
      if (!stopping) setTimeout(open, 10);
    };
    socket.on('secureConnect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      const done = framer.feed(chunk, 0, chunk.length);
      if (framer.malformed || framer.errorResponses > 0) return fail();
      for (let i = 0; i < done; i++) record(startedAt);
      if (done === 0) return;
      if (mode === 'handshake') {
        failed = true;
        socket.destroy();
        sockets.delete(socket);
        open();
        return;
      }
      startedAt = performance.now();
      socket.write(request);
    });
    socket.on('error', fail);
    socket.on('close', fail);
  };

  for (let i = 0; i < connections; i++) open();
  const warmupMs = Number(values['warmup-ms']);
  const durationMs = Number(values['duration-ms']);
  setTimeout(() => {
    measuring = true;
    windowStart = performance.now();
    process.stdout.write('{"msg":"tls window start"}\n');
    setTimeout(() => {
      measuring = false;
      stopping = true;
      const seconds = (performance.now() - windowStart) / 1000;
      process.stdout.write('{"msg":"tls window end"}\n');
      for (const s of sockets) s.destroy();
      const sorted = latencies.slice(0, samples).sort();
      const result: TlsLoadResult = {
        msg: 'tls load done',
        completed,
        errors,
        seconds,
        p50_ms: percentile(sorted, 50),
        p90_ms: percentile(sorted, 90),
        p99_ms: percentile(sorted, 99),
        p999_ms: percentile(sorted, 99.9),
        max_ms: percentile(sorted, 100),
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    }, durationMs);
  }, warmupMs);
}

main();
