import { describe, expect, it } from 'vitest';
import {
  FLAG, HEAD, HEADER_ID, NO_HOST_INDEX, PARSE_ERROR, headSlots, parseErrorReason, parseErrorStatus, parseRequestHead,
} from '../../src/native.js';
import { malformedRequests } from './malformed-requests.js';
import { MAX_HEADERS, MAX_HEAD_BYTES, decodeChunkedParts, parseRequest } from './parse-helpers.js';

/** The parser's verdict on a whole malformed request: the head error, or the chunked body's error. */
function verdict(raw: string): number {
  const head = parseRequest(raw);
  if (head.result <= 0) return head.result;
  if (!(head.flags & FLAG.CHUNKED)) return head.result;
  const body = decodeChunkedParts([head.buf.subarray(head.result)]);
  return body.error;
}

describe('parseRequestHead on the malformed corpus', () => {
  it('has at least 40 cases with unique names', () => {
    expect(malformedRequests.length).toBeGreaterThanOrEqual(40);
    expect(new Set(malformedRequests.map((c) => c.name)).size).toBe(malformedRequests.length);
  });

  for (const c of malformedRequests) {
    it(`refuses ${c.name} (${c.expectError}, ${c.expectStatus})`, () => {
      const code = verdict(c.raw);
      expect(parseErrorReason(code)).toBe(parseErrorReason(PARSE_ERROR[c.expectError]));
      expect(code).toBe(PARSE_ERROR[c.expectError]);
      expect(parseErrorStatus(code)).toBe(c.expectStatus);
    });
  }

  it('reports each head error the same way on every prefix (0 until decided, never another error)', () => {
    for (const c of malformedRequests) {
      if (c.raw.length > 8192 || parseRequest(c.raw).result > 0) continue;  // body cases: next test
      const expected = PARSE_ERROR[c.expectError];
      const full = Buffer.from(c.raw, 'latin1');
      let decided = false;
      for (let n = 0; n <= full.length; n++) {
        const r = parseRequest(Buffer.from(full.subarray(0, n))).result;
        if (r === 0) continue;
        expect([c.name, n, r]).toEqual([c.name, n, expected]);
        decided = true;
      }
      expect([c.name, decided]).toEqual([c.name, true]);
    }
  });

  it('reports each chunked body error the same way when the body arrives one byte at a time', () => {
    let bodyCases = 0;
    for (const c of malformedRequests) {
      const head = parseRequest(c.raw);
      if (head.result <= 0) continue;
      bodyCases++;
      const body = head.buf.subarray(head.result);
      const bytes = Array.from({ length: body.length }, (_, i) => body.subarray(i, i + 1));
      expect([c.name, decodeChunkedParts(bytes).error]).toEqual([c.name, PARSE_ERROR[c.expectError]]);
    }
    expect(bodyCases).toBeGreaterThanOrEqual(10);
  });
});

describe('parseRequestHead accepts valid edge cases', () => {
  it('parses a typical request into offsets', () => {
    const raw = 'GET /reviews/1?x=2 HTTP/1.1\r\nHost: reviews:9080\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n';
    const h = parseRequest(raw);
    expect(h.result).toBe(raw.length);
    expect(h.method).toBe('GET');
    expect(h.target).toBe('/reviews/1?x=2');
    expect(h.versionMinor).toBe(1);
    expect(h.hostIndex).toBe(0);
    expect(h.flags).toBe(0);
    expect(h.headers).toEqual([
      ['host', 'reviews:9080', HEADER_ID.HOST], ['user-agent', 'curl/8', HEADER_ID.OTHER], ['accept', '*/*', HEADER_ID.OTHER],
    ]);
  });

  it('accepts HTTP/1.0 without Host', () => {
    const h = parseRequest('GET / HTTP/1.0\r\nAccept: */*\r\n\r\n');
    expect(h.result).toBeGreaterThan(0);
    expect(h.versionMinor).toBe(0);
    expect(h.hostIndex).toBe(NO_HOST_INDEX);
  });

  it('accepts absolute-form, authority-form (CONNECT) and asterisk-form (OPTIONS) targets', () => {
    expect(parseRequest('GET http://reviews:9080/x?y=1 HTTP/1.1\r\nHost: reviews:9080\r\n\r\n').target).toBe('http://reviews:9080/x?y=1');
    expect(parseRequest('GET http://reviews HTTP/1.1\r\nHost: reviews\r\n\r\n').target).toBe('http://reviews');
    expect(parseRequest('CONNECT reviews:443 HTTP/1.1\r\nHost: reviews:443\r\n\r\n').target).toBe('reviews:443');
    expect(parseRequest('OPTIONS * HTTP/1.1\r\nHost: reviews\r\n\r\n').target).toBe('*');
  });

  it('accepts empty values, obs-text and inner spaces/tabs, trimming outer OWS', () => {
    const h = parseRequest('GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Blank: \t \r\nX-Text: caf\xe9\r\nX-Inner: \t a \t b \t \r\n\r\n');
    expect(h.result).toBeGreaterThan(0);
    expect(h.headers.slice(1).map(([n, v]) => [n, v])).toEqual([
      ['x-empty', ''], ['x-blank', ''], ['x-text', 'caf\xe9'], ['x-inner', 'a \t b'],
    ]);
  });

  it('accepts identical repeated Content-Length values', () => {
    const list = parseRequest('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello');
    expect(list.flags & FLAG.CONTENT_LENGTH).toBe(FLAG.CONTENT_LENGTH);
    expect(list.contentLength).toBe(5);
    const repeated = parseRequest('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello');
    expect(repeated.contentLength).toBe(5);
    expect(repeated.result).toBe(repeated.buf.length - 5);
  });

  it('reports a 15-digit Content-Length exactly across the hi/lo slots', () => {
    const h = parseRequest('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 999999999999999\r\n\r\n');
    expect(h.contentLength).toBe(999999999999999);
    expect(parseRequest('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n').contentLength).toBe(0);
  });

  it('accepts exactly maxHeaders headers and refuses one more', () => {
    let raw = 'GET / HTTP/1.1\r\nHost: a\r\n';
    for (let i = 1; i < MAX_HEADERS; i++) raw += `X-H${i}: v\r\n`;
    const h = parseRequest(`${raw}\r\n`);
    expect(h.result).toBeGreaterThan(0);
    expect(h.headers.length).toBe(MAX_HEADERS);
    expect(parseRequest(`${raw}X-Last: v\r\n\r\n`).result).toBe(PARSE_ERROR.TOO_MANY_HEADERS);
  });

  it('accepts a head of exactly maxHeadBytes and refuses one byte more', () => {
    const base = 'GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n';
    const exact = base.replace('X-Pad: ', `X-Pad: ${'p'.repeat(200 - base.length)}`);
    expect(exact.length).toBe(200);
    expect(parseRequest(exact, 200).result).toBe(200);
    expect(parseRequest(exact, 199).result).toBe(PARSE_ERROR.HEAD_TOO_LARGE);
    // incomplete but already longer than the limit
    expect(parseRequest(exact.slice(0, 150), 100).result).toBe(PARSE_ERROR.HEAD_TOO_LARGE);
    expect(parseRequest(exact.slice(0, 100), 100).result).toBe(0);
  });

  it('returns 0 for every proper prefix of a head, then the full length', () => {
    const raw = 'POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n';
    for (let n = 0; n < raw.length; n++) expect([n, parseRequest(raw.slice(0, n)).result]).toEqual([n, 0]);
    expect(parseRequest(raw).result).toBe(raw.length);
  });

  it('parses a pipelined second request from the first one\'s consumed length', () => {
    const first = 'GET /one HTTP/1.1\r\nHost: a\r\n\r\n';
    const second = 'POST /two HTTP/1.1\r\nHost: b\r\nContent-Length: 2\r\n\r\nhi';
    const buf = Buffer.from(first + second, 'latin1');
    const out = new Uint32Array(headSlots(MAX_HEADERS));
    const n1 = parseRequestHead(buf, 0, buf.length, out, MAX_HEAD_BYTES, MAX_HEADERS);
    expect(n1).toBe(first.length);
    const n2 = parseRequestHead(buf, n1, buf.length, out, MAX_HEAD_BYTES, MAX_HEADERS);
    expect(n2).toBe(second.length - 2);
    expect(buf.latin1Slice(out[HEAD.METHOD_START]!, out[HEAD.METHOD_END]!)).toBe('POST');
    expect(buf.latin1Slice(out[HEAD.TARGET_START]!, out[HEAD.TARGET_END]!)).toBe('/two');
    expect(out[HEAD.CONTENT_LENGTH_LO]).toBe(2);
  });

  it('skips empty lines before the request line', () => {
    const raw = '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n';
    const h = parseRequest(raw);
    expect(h.result).toBe(raw.length);
    expect(h.method).toBe('GET');
  });

  it('lowercases header names in the buffer and leaves values alone', () => {
    const h = parseRequest('GET / HTTP/1.1\r\nHOST: A.Example\r\nX-Request-ID: AbC\r\n\r\n');
    expect(h.buf.latin1Slice(0, h.result)).toBe('GET / HTTP/1.1\r\nhost: A.Example\r\nx-request-id: AbC\r\n\r\n');
    expect(h.headers[1]).toEqual(['x-request-id', 'AbC', HEADER_ID.X_REQUEST_ID]);
  });

  it('identifies the headers a proxy treats specially', () => {
    const names: Array<[string, number]> = [
      ['Keep-Alive', HEADER_ID.KEEP_ALIVE], ['Proxy-Connection', HEADER_ID.PROXY_CONNECTION], ['TE', HEADER_ID.TE],
      ['Trailer', HEADER_ID.TRAILER], ['Upgrade', HEADER_ID.UPGRADE], ['X-Forwarded-For', HEADER_ID.X_FORWARDED_FOR],
      ['X-Forwarded-Proto', HEADER_ID.X_FORWARDED_PROTO], ['X-Request-Id', HEADER_ID.X_REQUEST_ID], ['Expect', HEADER_ID.EXPECT],
      ['Connection', HEADER_ID.CONNECTION], ['Content-Type', HEADER_ID.OTHER], ['Hosts', HEADER_ID.OTHER],
    ];
    const raw = `GET / HTTP/1.1\r\nHost: a\r\n${names.map(([n]) => `${n}: x\r\n`).join('')}\r\n`;
    const h = parseRequest(raw);
    expect(h.headers.slice(1).map(([, , id]) => id)).toEqual(names.map(([, id]) => id));
  });

  it('sets connection, upgrade and expect flags', () => {
    const flags = (headers: string) => parseRequest(`GET / HTTP/1.1\r\nHost: a\r\n${headers}\r\n`).flags;
    expect(flags('Connection: close\r\n')).toBe(FLAG.CONNECTION_CLOSE);
    expect(flags('Connection: Keep-Alive\r\n')).toBe(FLAG.CONNECTION_KEEP_ALIVE);
    expect(flags('Connection: keep-alive, X-Custom\r\n')).toBe(FLAG.CONNECTION_KEEP_ALIVE | FLAG.CONNECTION_OTHER);
    expect(flags('Connection: Upgrade\r\nUpgrade: websocket\r\n')).toBe(FLAG.CONNECTION_UPGRADE | FLAG.UPGRADE);
    expect(flags('Connection: ,, close ,\r\n')).toBe(FLAG.CONNECTION_CLOSE);
    expect(flags('Expect: 100-Continue\r\nContent-Length: 1\r\n')).toBe(FLAG.EXPECT_CONTINUE | FLAG.CONTENT_LENGTH);
  });

  it('accepts Transfer-Encoding: chunked in any case, with empty list elements', () => {
    for (const te of ['chunked', 'Chunked', ' , chunked', 'CHUNKED \t']) {
      const h = parseRequest(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ${te}\r\n\r\n`);
      expect([te, h.flags]).toEqual([te, FLAG.CHUNKED | FLAG.TRANSFER_ENCODING]);
    }
  });

  it('accepts Host forms: name, port, IPv4, IPv6 literal, empty', () => {
    for (const host of ['a.example', 'a.example:8080', '127.0.0.1:80', '[::1]:9080', 'xn--bcher-kva.example', '']) {
      const h = parseRequest(`GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      expect([host, h.headers[0]?.[1]]).toEqual([host, host]);
    }
  });

  it('keeps the method as sent (methods are case-sensitive tokens)', () => {
    expect(parseRequest('get / HTTP/1.1\r\nHost: a\r\n\r\n').method).toBe('get');
    expect(parseRequest('M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n').result).toBe(PARSE_ERROR.INVALID_TARGET);
  });
});

describe('parseRequestHead argument checks', () => {
  const buf = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1');
  const out = new Uint32Array(headSlots(4));
  const call = (...args: unknown[]) => () => (parseRequestHead as (...a: unknown[]) => number)(...args);

  it('throws TypeError for wrong types and RangeError for bad ranges, never crashes', () => {
    expect(call('GET /', 0, 5, out, 100, 4)).toThrow(TypeError);
    expect(call(new Uint16Array(4), 0, 4, out, 100, 4)).toThrow(TypeError);
    expect(call(buf, '0', buf.length, out, 100, 4)).toThrow(TypeError);
    expect(call(buf, 0, buf.length, new Float64Array(40), 100, 4)).toThrow(TypeError);
    expect(call(buf, 0, buf.length, new Uint8Array(160), 100, 4)).toThrow(TypeError);
    expect(call(buf, 0, buf.length, new DataView(new ArrayBuffer(160)), 100, 4)).toThrow(TypeError);
    expect(call(buf, 0, buf.length, out, undefined, 4)).toThrow(TypeError);
    expect(call(buf, 0, buf.length + 1, out, 100, 4)).toThrow(RangeError);
    expect(call(buf, -1, buf.length, out, 100, 4)).toThrow(RangeError);
    expect(call(buf, 0.5, buf.length, out, 100, 4)).toThrow(RangeError);
    expect(call(buf, 10, 5, out, 100, 4)).toThrow(RangeError);
    expect(call(buf, 0, buf.length, out, 100, 5)).toThrow(/headSlots/);
    expect(call()).toThrow(TypeError);
  });

  it('reads a Buffer view at its own offset (pooled buffers)', () => {
    const big = Buffer.from(`xxxxGET / HTTP/1.1\r\nHost: a\r\n\r\nyyyy`, 'latin1');
    const sub = big.subarray(4);
    expect(parseRequestHead(sub, 0, sub.length - 4, out, 100, 4)).toBe(sub.length - 4);
    expect(out[HEAD.METHOD_START]).toBe(0);
  });
});

describe('parseRequestHead byte classes (every byte value, at positions on both sides of a 16-byte block)', () => {
  const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
  const positions = [1, 7, 15, 16, 17, 31, 33];
  const fill = (n: number) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP'.slice(0, n);

  it('field values: VCHAR, obs-text, SP and HTAB pass; CR and LF are line-ending errors; other CTLs and DEL are refused', () => {
    for (let b = 0; b < 256; b++) {
      const ch = String.fromCharCode(b);
      const expected = (b >= 0x20 && b !== 0x7f) || b === 0x09 ? 'ok'
        : b === 0x0d || b === 0x0a ? PARSE_ERROR.INVALID_LINE_ENDING : PARSE_ERROR.INVALID_HEADER_VALUE;
      for (const at of positions) {
        const value = `${fill(at)}${ch}${fill(40 - at)}`;
        const h = parseRequest(`GET / HTTP/1.1\r\nHost: a\r\nX-V: ${value}\r\n\r\n`);
        const got = h.result > 0 ? 'ok' : h.result;
        expect([b, at, got]).toEqual([b, at, expected]);
        if (got === 'ok') expect(h.headers[1]?.[1]).toBe(value);
      }
    }
  });

  it('header names: tchars pass and are lowercased, everything else is refused', () => {
    for (let b = 0; b < 256; b++) {
      if (b === 0x3a) continue; // ':' ends the name
      const ch = String.fromCharCode(b);
      const expected = TCHAR.test(ch) ? 'ok' : b === 0x20 || b === 0x09 ? PARSE_ERROR.WHITESPACE_BEFORE_COLON : PARSE_ERROR.INVALID_HEADER_NAME;
      for (const at of positions) {
        const name = `${fill(at)}${ch}${fill(30 - at)}`;
        const h = parseRequest(`GET / HTTP/1.1\r\nHost: a\r\n${name}: Value\r\n\r\n`);
        const got = h.result > 0 ? 'ok' : h.result;
        expect([b, at, got]).toEqual([b, at, expected]);
        if (got === 'ok') expect(h.headers[1]).toEqual([name.toLowerCase(), 'Value', HEADER_ID.OTHER]);
      }
    }
  });

  it('request targets: visible ASCII passes, everything else is refused', () => {
    for (let b = 0; b < 256; b++) {
      const ch = String.fromCharCode(b);
      const expected = b > 0x20 && b < 0x7f ? 'ok'
        : b === 0x20 || b === 0x0d || b === 0x0a ? PARSE_ERROR.INVALID_VERSION : PARSE_ERROR.INVALID_TARGET;
      for (const at of positions) {
        const target = `/${fill(at)}${ch}${fill(30 - at)}`;
        const h = parseRequest(`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`);
        const got = h.result > 0 ? 'ok' : h.result;
        expect([b, at, got]).toEqual([b, at, expected]);
        if (got === 'ok') expect(h.target).toBe(target);
      }
    }
  });
});
