// One keep-alive connection sending a request, waiting for the whole answer,
// then the next (ping-pong): the round trips mesh-pingpong times and
// mesh-alloc counts the sidecars' allocation over.
import { connect, type Socket } from 'node:net';

const REQUEST = Buffer.from('GET / HTTP/1.1\r\nhost: bench\r\n\r\n');
const HEAD_LIMIT = 16 * 1024;
const EMPTY = Buffer.alloc(0);

/** One round trip: when it started (CLOCK_MONOTONIC ms, as perf and strace -ttt -k timestamps are) and how long it took (ms). */
export interface Sample { readonly at: number; readonly ms: number }

/** n sequential round trips over one connection; resolves with each (rejects after timeoutMs). */
export function roundTrips(port: number, n: number, timeoutMs: number): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const out: Sample[] = [];
    let seen: Buffer = EMPTY;
    let need = -1;
    let t0 = 0n;
    const socket: Socket = connect(port, '127.0.0.1', () => send());
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`port ${port}: ${out.length} of ${n} round trips in ${timeoutMs} ms`));
    }, timeoutMs);
    const send = (): void => {
      seen = EMPTY;
      need = -1;
      t0 = process.hrtime.bigint();
      socket.write(REQUEST);
    };
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
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
      out.push({ at: Number(t0) / 1e6, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
      if (out.length < n) return send();
      clearTimeout(timer);
      socket.destroy();
      resolve(out);
    });
  });
}


/**
 * One kept connection whose round trips the caller paces: several of them, one trip each in turn, put every
 * target under the same moment's machine load (a burst of other work on a shared machine then hits them all
 * alike instead of one target's round).
 */
export class TripClient {
  private seen: Buffer = EMPTY;
  private need = -1;
  private t0 = 0n;
  private waiting: { resolve: (s: Sample) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static open(port: number): Promise<TripClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve(new TripClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** One request and its whole answer (rejects after timeoutMs, or when the connection failed). */
  trip(timeoutMs: number): Promise<Sample> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      this.waiting = {
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.seen = EMPTY;
      this.need = -1;
      this.t0 = process.hrtime.bigint();
      this.socket.write(REQUEST);
    });
  }

  close(): void {
    this.failure ??= new Error('closed');
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const seen = this.seen.length === 0 ? chunk : Buffer.concat([this.seen, chunk]);
    this.seen = seen;
    if (this.need < 0) {
      const end = seen.indexOf('\r\n\r\n');
      if (end < 0) {
        if (seen.length > HEAD_LIMIT) this.socket.destroy(new Error('response head too long'));
        return;
      }
      const length = /content-length: *(\d+)/i.exec(seen.subarray(0, end).toString('latin1'));
      this.need = end + 4 + Number(length?.[1] ?? 0);
    }
    if (seen.length < this.need || this.waiting === null) return;
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve({ at: Number(this.t0) / 1e6, ms: Number(process.hrtime.bigint() - this.t0) / 1e6 });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.socket.destroy();
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(err);
  }
}
