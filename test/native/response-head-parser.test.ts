import { describe, expect, it } from 'vitest';
import { FLAG, PARSE_ERROR } from '../../src/native.js';
import { parseResponse } from './parse-helpers.js';

describe('parseResponseHead', () => {
  it('reads status code, reason and version', () => {
    const raw = 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nServer: t\r\n\r\n';
    const h = parseResponse(raw);
    expect(h.result).toBe(raw.length);
    expect(h.statusCode).toBe(404);
    expect(h.target).toBe('Not Found');
    expect(h.versionMinor).toBe(1);
    expect(h.headers.map(([n, v]) => [n, v])).toEqual([['content-length', '0'], ['server', 't']]);
    expect(parseResponse('HTTP/1.0 200 OK\r\n\r\n').versionMinor).toBe(0);
  });

  it('accepts an empty or missing reason phrase and obs-text in it', () => {
    expect(parseResponse('HTTP/1.1 204 \r\n\r\n').target).toBe('');
    const bare = parseResponse('HTTP/1.1 204\r\n\r\n');
    expect(bare.statusCode).toBe(204);
    expect(bare.target).toBe('');
    expect(parseResponse('HTTP/1.1 200 D\xe9j\xe0 vu\r\n\r\n').target).toBe('D\xe9j\xe0 vu');
  });

  it('reports Content-Length, chunked and close-delimited framing', () => {
    const cl = parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 1024\r\n\r\n');
    expect(cl.flags).toBe(FLAG.CONTENT_LENGTH);
    expect(cl.contentLength).toBe(1024);
    expect(parseResponse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n').flags)
      .toBe(FLAG.CHUNKED | FLAG.TRANSFER_ENCODING);
    expect(parseResponse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n').flags)
      .toBe(FLAG.CHUNKED | FLAG.TRANSFER_ENCODING);
    // last coding not chunked: the body runs until the connection closes
    expect(parseResponse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n').flags).toBe(FLAG.TRANSFER_ENCODING);
    const closeDelimited = parseResponse('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n');
    expect(closeDelimited.flags).toBe(FLAG.CONNECTION_CLOSE);
  });

  it('refuses Content-Length with Transfer-Encoding and differing Content-Length values', () => {
    expect(parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n').result)
      .toBe(PARSE_ERROR.CONTENT_LENGTH_WITH_TRANSFER_ENCODING);
    expect(parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n').result)
      .toBe(PARSE_ERROR.DUPLICATE_CONTENT_LENGTH);
    expect(parseResponse('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n').contentLength).toBe(3);
  });

  it('refuses malformed status lines', () => {
    const cases: Array<[string, number]> = [
      ['HTTP/1.1 20 OK\r\n\r\n', PARSE_ERROR.INVALID_STATUS],
      ['HTTP/1.1 2000 OK\r\n\r\n', PARSE_ERROR.INVALID_STATUS],
      ['HTTP/1.1 099 Low\r\n\r\n', PARSE_ERROR.INVALID_STATUS],
      ['HTTP/1.1 600 High\r\n\r\n', PARSE_ERROR.INVALID_STATUS],
      ['HTTP/1.1 abc OK\r\n\r\n', PARSE_ERROR.INVALID_STATUS],
      ['HTTP/1.1\r\n\r\n', PARSE_ERROR.INVALID_STATUS],
      ['HTTP/1.1 200 O\x01K\r\n\r\n', PARSE_ERROR.INVALID_STATUS],
      ['HTTP/1.2 200 OK\r\n\r\n', PARSE_ERROR.INVALID_VERSION],
      ['HTTP/2 200 OK\r\n\r\n', PARSE_ERROR.INVALID_VERSION],
      ['http/1.1 200 OK\r\n\r\n', PARSE_ERROR.INVALID_VERSION],
      ['HTTP/1.1 200 OK\n\r\n', PARSE_ERROR.INVALID_LINE_ENDING],
      ['HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n', PARSE_ERROR.OBS_FOLD],
      ['HTTP/1.1 200 OK\r\nX : a\r\n\r\n', PARSE_ERROR.WHITESPACE_BEFORE_COLON],
    ];
    for (const [raw, code] of cases) expect([raw, parseResponse(raw).result]).toEqual([raw, code]);
  });

  it('returns 0 on every proper prefix and applies the head limits', () => {
    const raw = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n';
    for (let n = 0; n < raw.length; n++) expect([n, parseResponse(raw.slice(0, n)).result]).toEqual([n, 0]);
    expect(parseResponse(raw, 20).result).toBe(PARSE_ERROR.HEAD_TOO_LARGE);
    expect(parseResponse('HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n', 1000, 1).result).toBe(PARSE_ERROR.TOO_MANY_HEADERS);
  });

  it('does not require Host and tolerates several in a response', () => {
    expect(parseResponse('HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\n\r\n').hostIndex).toBe(0);
  });
});
