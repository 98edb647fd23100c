// A closed-loop HTTP/1.1 client that sends exactly N keep-alive GETs over C
// connections and resolves when every answer is in: the tracing CPU rounds
// divide a process's CPU by a request count, so the count must be exact (a
// timed window's edges cut requests in flight). Answers are framed by
// Content-Length (the bench upstream's fixed body); anything else fails the run.
import { spawn } from 'node:child_process';
import net from 'node:net';

export interface FixedCountResult {
  readonly completed: number;
  /** Answers that were not 2xx. */
  readonly non2xx: number;
  readonly elapsedMs: number;
}

/** Longest answer head accepted. */
const MAX_HEAD = 16 * 1024;

/**
 * takes a port, a request count, connections and a time limit; sends `total` GET / (one in flight per connection)
 * and returns the count answered; rejects on a connection error, a malformed answer or the time limit.
 */
export function sendFixedCount(port: number, total: number, connections: number, timeoutMs: number, path = '/'): Promise<FixedCountResult> {
  const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, 'latin1');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let sent = 0;
    let completed = 0;
    let non2xx = 0;
    let failed = false;
    const sockets: net.Socket[] = [];
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      clearTimeout(timer);
      for (const s of sockets) s.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`${total - completed} of ${total} requests unanswered after ${timeoutMs} ms`)), timeoutMs);
    const open = Math.max(1, Math.min(connections, total));
    for (let c = 0; c < open; c++) {
      const socket = net.connect(port, '127.0.0.1');
      sockets.push(socket);
      socket.setNoDelay(true);
      let head = '';
      let bodyLeft = -1;
      /** This connection has nothing more to send (ended on purpose). */
      let finished = false;
      const next = (): void => {
        if (sent < total) {
          sent++;
          socket.write(request);
        } else {
          finished = true;
          socket.end();
        }
      };
      socket.on('connect', next);
      socket.on('error', (err) => fail(new Error(`connection to 127.0.0.1:${port}: ${err.message}`)));
      socket.on('close', () => {
        if (!failed && !finished && completed < total) fail(new Error(`127.0.0.1:${port} closed a connection with ${total - completed} requests unanswered`));
      });
      socket.on('data', (chunk: Buffer) => {
        let at = 0;
        while (at < chunk.length && !failed) {
          if (bodyLeft > 0) {
            const take = Math.min(bodyLeft, chunk.length - at);
            bodyLeft -= take;
            at += take;
          } else {
            const before = head.length;
            head += chunk.latin1Slice(at, Math.min(chunk.length, at + MAX_HEAD));
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) {
              if (head.length > MAX_HEAD) fail(new Error('an answer head longer than 16 KB'));
              return;
            }
            at += end + 4 - before;
            const status = Number(head.slice(9, 12));
            const m = /\r\ncontent-length:[ \t]*(\d{1,9})\r\n/i.exec(head.slice(0, end + 2));
            head = '';
            if (m === null) {
              fail(new Error('an answer without Content-Length (the bench upstream sends one)'));
              return;
            }
            if (status < 200 || status > 299) non2xx++;
            bodyLeft = Number(m[1]);
          }
          if (bodyLeft === 0) {
            bodyLeft = -1;
            completed++;
            if (completed === total) {
              clearTimeout(timer);
              for (const s of sockets) s.end();
              resolve({ completed, non2xx, elapsedMs: performance.now() - started });
              return;
            }
            next();
          }
        }
      });
    }
  });
}

/** takes h2load's output; returns requests done and 2xx answers (null when it has no summary). */
export function parseH2loadCounts(text: string): { succeeded: number; ok2xx: number } | null {
  const requests = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(text);
  const codes = /status codes: (\d+) 2xx/.exec(text);
  return requests === null || codes === null ? null : { succeeded: Number(requests[1]), ok2xx: Number(codes[1]) };
}

/**
 * The same with h2load --h1 (nghttp2's C client: exactly -n requests, a few µs of CPU each, so the proxy and not
 * a Node client is the bottleneck); rejects when h2load fails or answers are missing.
 */
export function sendFixedCountH2load(binary: string, port: number, total: number, connections: number, timeoutMs: number, path = '/'): Promise<FixedCountResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['--h1', '-n', String(total), '-c', String(Math.min(connections, total)), '-t', '1', '-m', '1', `http://127.0.0.1:${port}${path}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d.length + out.length > 65536 ? '' : d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d.length + out.length > 65536 ? '' : d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`h2load: ${err.message}`));
    });
    // 'close', not 'exit': the summary may still be in the pipe when the process has exited.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const counts = parseH2loadCounts(out);
      if (counts === null || counts.succeeded !== total) {
        reject(new Error(`h2load --h1 -n ${total} to 127.0.0.1:${port}: ${counts === null ? `no summary (exit ${code ?? signal})` : `${counts.succeeded} of ${total} succeeded`}: ${out.trim().split('\n').slice(-4).join(' | ')}`));
        return;
      }
      resolve({ completed: counts.succeeded, non2xx: counts.succeeded - counts.ok2xx, elapsedMs: performance.now() - started });
    });
  });
}
