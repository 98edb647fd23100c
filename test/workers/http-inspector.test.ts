// The http_inspector's verdict on a connection's first bytes, including bytes
// that arrive in pieces (MORE until it can tell) and near-misses.
import { describe, expect, it } from 'vitest';
import {
  HTTP_INSPECT_H2C, HTTP_INSPECT_HTTP10, HTTP_INSPECT_HTTP11, HTTP_INSPECT_MORE, HTTP_INSPECT_NOT_HTTP, httpInspectProtocol, inspectHttp,
} from '../../workers/http-inspector.js';

function inspect(text: string): number {
  const buf = Buffer.from(text, 'latin1');
  return inspectHttp(buf, 0, buf.length);
}

describe('inspectHttp', () => {
  it('recognises HTTP/1.1, HTTP/1.0 and the h2c preface', () => {
    expect(inspect('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).toBe(HTTP_INSPECT_HTTP11);
    expect(inspect('POST /x?y=1 HTTP/1.0\r\n')).toBe(HTTP_INSPECT_HTTP10);
    expect(inspect('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')).toBe(HTTP_INSPECT_H2C);
    expect(httpInspectProtocol(HTTP_INSPECT_HTTP11)).toBe('http/1.1');
    expect(httpInspectProtocol(HTTP_INSPECT_H2C)).toBe('h2c');
    expect(httpInspectProtocol(HTTP_INSPECT_NOT_HTTP)).toBe('');
  });

  it('waits for more while every prefix could still be HTTP', () => {
    const line = 'GET /path HTTP/1.1\r\n';
    for (let n = 1; n < line.length; n++) expect(inspect(line.slice(0, n))).toBe(HTTP_INSPECT_MORE);
    const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
    for (let n = 1; n < preface.length; n++) expect(inspect(preface.slice(0, n))).toBe(HTTP_INSPECT_MORE);
  });

  it('tells other protocols at once', () => {
    expect(inspect('\x16\x03\x01\x02\x00')).toBe(HTTP_INSPECT_NOT_HTTP); // a TLS record
    expect(inspect('\x00\x00\x00\x08')).toBe(HTTP_INSPECT_NOT_HTTP); // a binary length prefix
    expect(inspect('*1\r\n$4\r\nPING\r\n')).toBe(HTTP_INSPECT_NOT_HTTP); // redis
    expect(inspect('GET / HTTP/2.0\r\n')).toBe(HTTP_INSPECT_NOT_HTTP);
    expect(inspect('GET  / HTTP/1.1\r\n')).toBe(HTTP_INSPECT_NOT_HTTP);
  });

  it('gives up on a request line longer than 64 KiB', () => {
    expect(inspect(`GET /${'a'.repeat(70_000)}`)).toBe(HTTP_INSPECT_NOT_HTTP);
  });
});
