// The `parser` scenario: nanoseconds per parse of a request head, the cost
// every proxied request pays before routing, for a few typical heads. Isthmus's
// native parser (src/native.ts parseRequestHead: offsets only, and with every
// name and value sliced to a string) against llhttp as undici runs it (wasm,
// Buffer views per field: bench/llhttp-undici.ts) and llhttp as node:http runs
// it (native binding, header strings handed to JavaScript).
import { performance } from 'node:perf_hooks';
import { HEAD, headSlots, parseRequestHead } from '../src/native.js';
import { loadUndiciLlhttp } from './llhttp-undici.js';

export interface ParserHead {
  readonly name: string;
  readonly head: string;
}

export const PARSER_HEADS: readonly ParserHead[] = [
  { name: 'minimal GET (wrk, curl)', head: 'GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n' },
  {
    name: 'browser GET, 8 headers',
    head:
      'GET /productpage/reviews/42?lang=en&page=2 HTTP/1.1\r\n' +
      'Host: reviews.default.svc.cluster.local:9080\r\n' +
      'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n' +
      'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n' +
      'Accept-Encoding: gzip, deflate, br\r\n' +
      'Accept-Language: en-US,en;q=0.9\r\n' +
      'Connection: keep-alive\r\n' +
      'X-Request-Id: 7f3c2a9e-1b4d-4c8e-9f2a-3d5e6f7a8b9c\r\n' +
      'Cookie: session=abc123def456; theme=dark\r\n' +
      '\r\n',
  },
  {
    name: 'API GET inside a mesh, 6 headers',
    head:
      'GET /api/v1/ratings/7 HTTP/1.1\r\n' +
      'host: ratings:9080\r\n' +
      'accept: application/json\r\n' +
      'authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib29rIn0.c2lnbmF0dXJl\r\n' +
      'x-request-id: 0d3c8f1e-6a57-4b2b-9e0f-2c1d5a7b8e9f\r\n' +
      'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n' +
      'x-forwarded-proto: http\r\n' +
      '\r\n',
  },
];

export interface ParserResultRow {
  readonly scenario: 'parser';
  readonly head: string;
  readonly head_bytes: number;
  readonly headers: number;
  readonly parser: string;
  /** Median over rounds of ns per parse. */
  readonly ns_per_parse: number;
}

const MAX_HEADERS = 100;
const MAX_HEAD_BYTES = 60 * 1024;

/** Runs fn `iterations` times after a warm-up, 5 rounds; returns the median ns per call. */
function nsPerCall(iterations: number, fn: () => number): number {
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, 100_000); i++) sink += fn();
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) sink += fn();
    rounds.push(((performance.now() - t0) * 1e6) / iterations);
  }
  if (sink === Number.MIN_SAFE_INTEGER) process.stderr.write(String(sink)); // keeps the loop observable
  rounds.sort((a, b) => a - b);
  return Math.round(rounds[2]! * 10) / 10;
}

type Parser = (buf: Buffer) => number;

function isthmusParsers(): [string, Parser][] {
  const out = new Uint32Array(headSlots(MAX_HEADERS));
  const offsets: Parser = (buf) => parseRequestHead(buf, 0, buf.length, out, MAX_HEAD_BYTES, MAX_HEADERS);
  const strings: string[] = [];
  const withStrings: Parser = (buf) => {
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
  };
  return [
    ['isthmus native (offsets)', offsets],
    ['isthmus native + strings', withStrings],
  ];
}

interface NodeHttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(buf: Buffer): number | Error;
  [key: number]: unknown;
}
type NodeHttpBinding = { HTTPParser: { new (): NodeHttpParser; REQUEST: number; kOnHeadersComplete: number; kOnMessageComplete: number } };

/** node:http's llhttp through the legacy binding; null when this Node does not expose it. */
function nodeLlhttp(): Parser | null {
  let binding: NodeHttpBinding;
  try {
    const previous = process.noDeprecation;
    process.noDeprecation = true;
    binding = (process as unknown as { binding(name: string): NodeHttpBinding }).binding('http_parser');
    process.noDeprecation = previous;
  } catch {
    return null;
  }
  const { HTTPParser } = binding;
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, MAX_HEAD_BYTES, 0);
  let headers = 0;
  parser[HTTPParser.kOnHeadersComplete] = (_major: number, _minor: number, list: string[]) => ((headers = list.length), 0);
  parser[HTTPParser.kOnMessageComplete] = () => 0;
  return (buf) => {
    const r = parser.execute(buf);
    if (typeof r !== 'number') throw r;
    return headers;
  };
}

/** Measures every parser on every head; `log` gets one line per figure. Skips a parser it cannot load, saying so. */
export function runParserScenario(iterations: number, log: (line: string) => void): { rows: ParserResultRow[]; skipped: string[] } {
  const parsers: [string, Parser][] = isthmusParsers();
  const skipped: string[] = [];
  try {
    const undici = loadUndiciLlhttp();
    parsers.push([`llhttp wasm as undici runs it`, (buf) => undici.execute(buf)]);
  } catch (err) {
    skipped.push(`llhttp (undici): ${(err as Error).message.split('\n')[0]}`);
  }
  const node = nodeLlhttp();
  if (node === null) skipped.push('llhttp (node:http): process.binding("http_parser") is not available');
  else parsers.push(['llhttp native as node:http runs it', node]);

  const rows: ParserResultRow[] = [];
  for (const { name, head } of PARSER_HEADS) {
    const buf = Buffer.from(head, 'latin1');
    const headers = head.split('\r\n').length - 3;
    for (const [parserName, parse] of parsers) {
      parse(buf); // throws here, not in the timed loop, when a head does not parse
      const ns = nsPerCall(iterations, () => parse(buf));
      rows.push({ scenario: 'parser', head: name, head_bytes: buf.length, headers, parser: parserName, ns_per_parse: ns });
      log(`parser: ${name}: ${parserName}: ${ns} ns/parse`);
    }
  }
  return { rows, skipped };
}
