// The heads the proxy sends, byte for byte, for the shapes the encoders take
// shortcuts on: kept header lines copied as runs (broken by a dropped line,
// trailing whitespace or a bare LF), long values, XFCC, route additions.
import { describe, expect, it } from 'vitest';
import { headSlots, parseRequestHead, parseResponseHead } from '../../src/native.js';
import { contentLengthLine, encodeResponseHead, encodeUpstreamHead, endOfHead, type UpstreamHeadFields } from '../../workers/message-heads.js';
import { TRACE_LINES, TRACE_SAMPLED } from '../../workers/tracing/upstream-trace-lines.js';
import { hexWord, TraceIds } from '../../workers/tracing/trace-ids.js';

/** A request's trace context as the proxy holds it: a 64-bit trace id and the sent span id as words, no parent. */
function traceContext(traceId: string, sentId: string, bits: number): TraceIds {
  const t = new TraceIds();
  t.trace0 = hexWord(traceId, 0);
  t.trace1 = hexWord(traceId, 8);
  t.sent0 = hexWord(sentId, 0);
  t.sent1 = hexWord(sentId, 8);
  t.bits = bits;
  return t;
}

function parsedRequest(head: string): { buf: Buffer; out: Uint32Array } {
  const buf = Buffer.from(head, 'latin1');
  const out = new Uint32Array(headSlots(32));
  expect(parseRequestHead(buf, 0, buf.length, out, 8192, 32)).toBe(buf.length);
  return { buf, out };
}

const FIELDS: UpstreamHeadFields = {
  method: 'GET',
  pathAndQuery: '/a?b=1',
  host: 'svc',
  forwardedFor: '',
  envoyHeaders: '',
  requestId: 'rid-1',
  framing: '',
  dropExpect: false,
  remove: null,
  add: Buffer.alloc(0),
  xfcc: null,
  trace: null,
};

describe('encodeUpstreamHead', () => {
  it('copies the kept lines as received, around dropped ones, with the proxy lines first', () => {
    const { buf, out } = parsedRequest(
      'GET /a?b=1 HTTP/1.1\r\nHost: svc\r\nAccept: */*\r\nConnection: keep-alive\r\nX-One: 1   \r\nx-two: 2\r\nX-Drop-Me: z\r\nx-three: 3\r\n\r\n',
    );
    const head = encodeUpstreamHead(buf, out, { ...FIELDS, remove: ['x-drop-me'] }).toString('latin1');
    expect(head).toBe(
      'GET /a?b=1 HTTP/1.1\r\nhost: svc\r\nx-request-id: rid-1\r\nx-forwarded-proto: http\r\n' +
        'accept: */*\r\nx-one: 1\r\nx-two: 2\r\nx-three: 3\r\n\r\n',
    );
  });

  it('writes long and optional pieces: x-forwarded-for, envoy lines, trace, a replaced XFCC, additions, framing', () => {
    const longPath = '/' + 'p'.repeat(300);
    const { buf, out } = parsedRequest(
      `POST ${longPath} HTTP/1.1\r\nHost: h\r\nx-forwarded-client-cert: forged\r\nX-Forwarded-Proto: https\r\nContent-Length: 3\r\n\r\n`,
    );
    const xfcc = 'By=spiffe://cluster.local/ns/default/sa/server;Hash=' + 'a'.repeat(64) + ';URI=spiffe://cluster.local/ns/default/sa/client';
    const head = encodeUpstreamHead(buf, out, {
      ...FIELDS,
      method: 'POST',
      pathAndQuery: longPath,
      host: 'h',
      forwardedFor: '10.0.0.1, 127.0.0.1',
      envoyHeaders: 'x-envoy-internal: true\r\n',
      trace: traceContext('463ac35c9f6413ad', 'a2fb4a1d1a96d312', TRACE_LINES | TRACE_SAMPLED),
      framing: 'content-length: 3\r\n',
      add: Buffer.from('x-added: yes\r\n'),
      xfcc,
    }).toString('latin1');
    expect(head).toBe(
      `POST ${longPath} HTTP/1.1\r\nhost: h\r\nx-forwarded-for: 10.0.0.1, 127.0.0.1\r\nx-request-id: rid-1\r\n` +
        'x-envoy-internal: true\r\nx-b3-traceid: 463ac35c9f6413ad\r\nx-b3-spanid: a2fb4a1d1a96d312\r\nx-b3-sampled: 1\r\n' +
        `traceparent: 00-0000000000000000463ac35c9f6413ad-a2fb4a1d1a96d312-01\r\nx-forwarded-client-cert: ${xfcc}\r\n` +
        'x-forwarded-proto: https\r\nx-added: yes\r\ncontent-length: 3\r\n\r\n',
    );
  });
});

describe('encodeResponseHead', () => {
  it('keeps the status line and end-to-end lines, drops hop-by-hop and removed ones, appends additions and framing', () => {
    const long = 'v'.repeat(400);
    const buf = Buffer.from(
      `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: x\r\nTransfer-Encoding: chunked\r\nX-Long: ${long}\r\nServer: up\r\nX-Secret: s\r\n\r\n`,
      'latin1',
    );
    const out = new Uint32Array(headSlots(32));
    expect(parseResponseHead(buf, 0, buf.length, out, 8192, 32)).toBe(buf.length);
    const head = encodeResponseHead(buf, 0, out, ['x-secret'], Buffer.from('x-route: r\r\n'), 'content-length: 5\r\n\r\n');
    expect(head.toString('latin1')).toBe(
      `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ndate: x\r\nx-long: ${long}\r\nserver: up\r\nx-route: r\r\ncontent-length: 5\r\n\r\n`,
    );
  });

  it('writes the framing lines right when they repeat (then kept as bytes) and after they change', () => {
    const buf = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n', 'latin1');
    const out = new Uint32Array(headSlots(32));
    expect(parseResponseHead(buf, 0, buf.length, out, 8192, 32)).toBe(buf.length);
    const encode = (n: number, extra = ''): string => encodeResponseHead(buf, 0, out, null, Buffer.alloc(0), endOfHead(contentLengthLine(n) + extra)).toString('latin1');
    const expected = (n: number, extra = ''): string => `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${n}\r\n${extra}\r\n`;
    for (const [n, extra] of [[5, ''], [5, ''], [5, ''], [5, ''], [1234567, ''], [1234567, ''], [1234567, ''], [5, 'connection: close\r\n'], [5, 'connection: close\r\n'], [5, 'connection: close\r\n'], [5, '']] as const) {
      expect(encode(n, extra)).toBe(expected(n, extra));
    }
  });
});
