// Parser micro-benchmark: nanoseconds per parseRequestHead call for a typical
// 8-header request, the cost every proxied request pays before routing. For
// scale it runs Node's own llhttp (process.binding('http_parser'), what
// node:http uses, including the header strings it hands to JavaScript) on the
// same bytes, and our parser plus slicing every name and value to strings.
// Run: npx tsc -p . && node dist/bench/parser-micro.js [iterations]
import { performance } from 'node:perf_hooks';
import { CHUNKED, HEAD, decodeChunked, headSlots, parseRequestHead } from '../src/native.js';

const REQUEST =
  'GET /productpage/reviews/42?lang=en&page=2 HTTP/1.1\r\n' +
  'Host: reviews.default.svc.cluster.local:9080\r\n' +
  'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n' +
  'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n' +
  'Accept-Encoding: gzip, deflate, br\r\n' +
  'Accept-Language: en-US,en;q=0.9\r\n' +
  'Connection: keep-alive\r\n' +
  'X-Request-Id: 7f3c2a9e-1b4d-4c8e-9f2a-3d5e6f7a8b9c\r\n' +
  'Cookie: session=abc123def456; theme=dark\r\n' +
  '\r\n';

const MAX_HEADERS = 100;
const MAX_HEAD_BYTES = 60 * 1024;

interface Result {
  readonly name: string;
  readonly nsPerOp: number;
}

/** Runs fn `iterations` times after a warm-up, 5 rounds; returns the median ns per call. */
function measure(name: string, iterations: number, fn: () => number): Result {
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, 200_000); i++) sink += fn();
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) sink += fn();
    rounds.push(((performance.now() - t0) * 1e6) / iterations);
  }
  if (sink === Number.MIN_SAFE_INTEGER) console.log(sink); // keeps the loop observable
  rounds.sort((a, b) => a - b);
  return { name, nsPerOp: rounds[2]! };
}

function benchIsthmus(iterations: number): Result[] {
  const buf = Buffer.from(REQUEST, 'latin1');
  const out = new Uint32Array(headSlots(MAX_HEADERS));
  const headOnly = measure('isthmus parseRequestHead (offsets only)', iterations, () =>
    parseRequestHead(buf, 0, buf.length, out, MAX_HEAD_BYTES, MAX_HEADERS));
  const strings: string[] = [];
  const withStrings = measure('isthmus parseRequestHead + slice method, target, all names and values', iterations, () => {
    const n = parseRequestHead(buf, 0, buf.length, out, MAX_HEAD_BYTES, MAX_HEADERS);
    strings.length = 0;
    strings.push(buf.latin1Slice(out[HEAD.METHOD_START], out[HEAD.METHOD_END]));
    strings.push(buf.latin1Slice(out[HEAD.TARGET_START], out[HEAD.TARGET_END]));
    const count = out[HEAD.HEADER_COUNT]!;
    for (let i = 0; i < count; i++) {
      const at = HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * i;
      strings.push(buf.latin1Slice(out[at + HEAD.NAME_START], out[at + HEAD.NAME_END]));
      strings.push(buf.latin1Slice(out[at + HEAD.VALUE_START], out[at + HEAD.VALUE_END]));
    }
    return n;
  });
  return [headOnly, withStrings];
}

/** decodeChunked over a 1 KiB body sent as two chunks plus the last-chunk: the per-message framing cost. */
function benchChunked(iterations: number): Result {
  const body = Buffer.from(`200\r\n${'a'.repeat(512)}\r\n200;ext=1\r\n${'b'.repeat(512)}\r\n0\r\n\r\n`, 'latin1');
  const state = new Float64Array(CHUNKED.STATE_SIZE);
  const segments = new Uint32Array(2 * 64);
  return measure('isthmus decodeChunked (1 KiB in 2 chunks + last-chunk)', iterations, () => {
    state.fill(0);
    return decodeChunked(body, 0, body.length, state, segments);
  });
}

interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(buf: Buffer): number | Error;
  [key: number]: unknown;
}

/** Node's llhttp through the legacy binding; undefined when this Node does not expose it. */
function benchLlhttp(iterations: number): Result | undefined {
  let binding: { HTTPParser: { new(): LlhttpParser; REQUEST: number; kOnHeadersComplete: number; kOnMessageComplete: number } };
  try {
    process.noDeprecation = true;
    binding = (process as unknown as { binding(name: string): typeof binding }).binding('http_parser');
  } catch {
    return undefined;
  }
  const { HTTPParser } = binding;
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, MAX_HEAD_BYTES, 0);
  let headersSeen = 0;
  parser[HTTPParser.kOnHeadersComplete] = (_major: number, _minor: number, headers: string[]) => {
    headersSeen += headers.length;
    return 0;
  };
  parser[HTTPParser.kOnMessageComplete] = () => 0;
  const buf = Buffer.from(REQUEST, 'latin1');
  const result = measure('node llhttp execute (headers as strings, as node:http gets them)', iterations, () => {
    const r = parser.execute(buf);
    return typeof r === 'number' ? r : -1;
  });
  if (headersSeen === 0) return undefined;
  return result;
}

function main(): void {
  const iterations = Number(process.argv[2] ?? 1_000_000);
  if (!Number.isInteger(iterations) || iterations <= 0) throw new Error(`iterations must be a positive integer, got ${process.argv[2]}`);
  const results = [...benchIsthmus(iterations), benchChunked(iterations)];
  const llhttp = benchLlhttp(iterations);
  if (llhttp) results.push(llhttp);
  console.log(`request head: ${Buffer.byteLength(REQUEST)} bytes, 8 headers; ${iterations} iterations x 5 rounds, median`);
  for (const r of results) console.log(`${r.nsPerOp.toFixed(1).padStart(8)} ns/op  ${r.name}`);
  if (!llhttp) console.log('(llhttp comparison skipped: process.binding("http_parser") unavailable)');
}

main();
