// Seeds and byte-level mutations for the differential fuzzer. Deterministic
// from a seed, so any finding reproduces with `--seed`.
import { malformedRequests } from '../../test/native/malformed-requests.js';

/** xorshift32. */
export class Rng {
  private x: number;

  constructor(seed: number) {
    this.x = seed >>> 0 || 1;
  }

  next(): number {
    let x = this.x;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.x = x;
    return x;
  }

  below(n: number): number {
    return this.next() % n;
  }
}

const VALID_HEADS = [
  'GET / HTTP/1.1\r\nHost: a\r\n\r\n',
  'POST /a?b=c HTTP/1.1\r\nHost: example:80\r\nContent-Length: 5\r\nConnection: keep-alive, x\r\n\r\nhello',
  'PUT http://h/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n0\r\n\r\n',
  '\r\nGET / HTTP/1.0\r\nX: \t y \r\n\r\n',
  'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'DELETE /x HTTP/1.1\r\nHost: [::1]:8080\r\nX-Obs: caf\xe9\r\nTE: trailers\r\n\r\n',
];

const VALID_BODIES = [
  '5\r\nhello\r\n0\r\n\r\n',
  '5;a="b\\"c"\r\nhello\r\n0\r\nT: v\r\n\r\n',
  'A\r\n0123456789\r\n1 ; ext\r\n!\r\n0\r\n\r\n',
  '000\r\n\r\n',
  '3;x=y;z\r\nabc\r\n0\r\nX-T: a\r\nY: b\r\n\r\n',
];

const CHUNKED_HEAD_END = 'Transfer-Encoding: chunked\r\n\r\n';

/** Request heads (with anything after them) to mutate: the malformed corpus and valid requests. */
export const headSeeds: readonly Buffer[] = [...VALID_HEADS, ...malformedRequests.filter((c) => c.raw.length < 8192).map((c) => c.raw)]
  .map((s) => Buffer.from(s, 'latin1'));

/** Chunked bodies to mutate: valid ones and the bodies of the corpus's chunked cases. */
export const bodySeeds: readonly Buffer[] = [
  ...VALID_BODIES,
  ...malformedRequests.map((c) => c.raw).filter((r) => r.includes(CHUNKED_HEAD_END) && r.length < 8192).map((r) => r.slice(r.indexOf(CHUNKED_HEAD_END) + CHUNKED_HEAD_END.length)),
].map((s) => Buffer.from(s, 'latin1'));

const BYTES = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x23, 0x2c, 0x2f, 0x3a, 0x3b, 0x3d, 0x40, 0x5c, 0x7f, 0x80, 0xff, 0x30, 0x41, 0x61, 0x66, 0x2a];
const TOKENS = [
  '\r\n', '\n', '\r', ' ', '\t', ':', ';', ',', '"', '0', 'f', 'F', '\r\n\r\n', 'Host: b\r\n', 'Content-Length: 0\r\n', 'Content-Length: 5\r\n',
  'Transfer-Encoding: chunked\r\n', 'Transfer-Encoding: gzip\r\n', 'Connection: close\r\n', ' \r\n', 'HTTP/1.0', 'HTTP/1.1', '0\r\n\r\n',
  'http://', '@', '%', '*', '?', '#', 'ffffffffffffffff', ';e="x"',
].map((s) => Buffer.from(s, 'latin1'));

/** One random edit of buf (never longer than limit). */
function mutateOnce(buf: Buffer, rng: Rng, seeds: readonly Buffer[], limit: number): Buffer {
  const at = rng.below(buf.length + 1);
  switch (rng.below(8)) {
    case 0: { // overwrite a byte
      if (buf.length === 0) return buf;
      const copy = Buffer.from(buf);
      copy[Math.min(at, buf.length - 1)] = rng.below(2) ? BYTES[rng.below(BYTES.length)]! : rng.below(256);
      return copy;
    }
    case 1: // insert a byte
      return Buffer.concat([buf.subarray(0, at), Buffer.of(BYTES[rng.below(BYTES.length)]!), buf.subarray(at)]);
    case 2: // insert a token
      return Buffer.concat([buf.subarray(0, at), TOKENS[rng.below(TOKENS.length)]!, buf.subarray(at)]);
    case 3: { // delete a short range
      const n = 1 + rng.below(4);
      return Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + n))]);
    }
    case 4: { // duplicate a line
      const start = buf.lastIndexOf(0x0a, at - 1) + 1;
      const nl = buf.indexOf(0x0a, at);
      const end = nl < 0 ? buf.length : nl + 1;
      if (buf.length + end - start > limit) return buf;
      return Buffer.concat([buf.subarray(0, end), buf.subarray(start, end), buf.subarray(end)]);
    }
    case 5: { // flip the case of a letter
      if (buf.length === 0) return buf;
      const i = Math.min(at, buf.length - 1);
      const b = buf[i]!;
      if (!((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a))) return buf;
      const copy = Buffer.from(buf);
      copy[i] = b ^ 0x20;
      return copy;
    }
    case 6: { // splice: this one's start, another seed's end
      const other = seeds[rng.below(seeds.length)]!;
      return Buffer.concat([buf.subarray(0, at), other.subarray(rng.below(other.length + 1))]);
    }
    default: // truncate
      return buf.subarray(0, at);
  }
}

/** A mutant of a random seed: one to four edits. */
export function mutate(seeds: readonly Buffer[], rng: Rng, limit: number): Buffer {
  let buf = seeds[rng.below(seeds.length)]!;
  const edits = 1 + rng.below(4);
  for (let i = 0; i < edits; i++) buf = mutateOnce(buf, rng, seeds, limit);
  return buf.length > limit ? buf.subarray(0, limit) : buf;
}
