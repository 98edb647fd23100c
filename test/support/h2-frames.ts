// Raw HTTP/2 frames for tests that play a client or upstream byte by byte
// (RFC 9113 section 4.1: 24-bit length, type, flags, 31-bit stream id).
import * as net from 'node:net';
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export const HEADERS = 0x1;
export const RST_STREAM = 0x3;
export const SETTINGS = 0x4;
export const PING = 0x6;
export const GOAWAY = 0x7;
export const CONTINUATION = 0x9;
export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;

/** One frame: the 9-byte head, then `payload`. */
export function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** One frame as a reader saw it: `payload` is a view into the read buffer. */
export interface ReadFrame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

/** Plays an HTTP/2 client on a raw socket to 127.0.0.1:`port`: writes the preface, an empty SETTINGS and `payload` in
 *  one write, then hands each whole frame the server sends to `onFrame` until it returns a result. Resolves with that
 *  result, or with `end('closed')` when the connection errs or closes first, `end('timeout')` after `timeoutMs`. */
export function rawH2Exchange<T>(
  port: number,
  payload: Buffer,
  onFrame: (f: ReadFrame) => T | undefined,
  end: (why: 'closed' | 'timeout') => T,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (result: T): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish(end('timeout')), timeoutMs);
    sock.on('connect', () => sock.write(Buffer.concat([PREFACE, frame(SETTINGS, 0, 0, Buffer.alloc(0)), payload])));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (!done && buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const result = onFrame({ type: buf[3]!, flags: buf[4]!, stream: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
        if (result !== undefined) finish(result);
        buf = buf.subarray(9 + len);
      }
    });
    sock.on('error', () => finish(end('closed')));
    sock.on('close', () => finish(end('closed')));
  });
}
