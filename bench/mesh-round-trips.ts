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

