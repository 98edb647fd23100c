// Malformed and request-smuggling inputs the proxy must refuse with 400/431
// and a closed connection. Shared by the native parser tests (which also
// check the exact parser error) and the end-to-end test that replays each
// raw request against a running proxy. Every case is complete as sent: the
// head ends with CRLFCRLF (where the defect is not the line ending itself)
// and any body is framed, so a server that accepts it would answer.
import type { PARSE_ERROR } from '../../src/native.js';

export interface MalformedRequest {
  readonly name: string;
  /** the full request bytes as a latin1 string (head and body) */
  readonly raw: string;
  readonly expectStatus: 400 | 431;
  /** the parser error (head parser, or the chunked decoder for body cases) */
  readonly expectError: keyof typeof PARSE_ERROR;
}

const H = 'Host: backend\r\n';

function req(name: string, raw: string, expectError: keyof typeof PARSE_ERROR, expectStatus: 400 | 431 = 400): MalformedRequest {
  return { name, raw, expectError, expectStatus };
}

function post(headers: string, body: string): string {
  return `POST /upload HTTP/1.1\r\n${H}${headers}\r\n${body}`;
}

const chunked = 'Transfer-Encoding: chunked\r\n';

function manyHeaders(count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) s += `X-Header-${i}: value-${i}\r\n`;
  return s;
}

export const malformedRequests: readonly MalformedRequest[] = [
  // framing conflicts (CL.TE / TE.CL smuggling)
  req('content-length with transfer-encoding', post(`Content-Length: 5\r\n${chunked}`, '0\r\n\r\n'), 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING'),
  req('transfer-encoding before content-length', post(`${chunked}Content-Length: 5\r\n`, '0\r\n\r\n'), 'CONTENT_LENGTH_WITH_TRANSFER_ENCODING'),
  req('differing content-length headers', post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!'), 'DUPLICATE_CONTENT_LENGTH'),
  req('differing content-length list', post('Content-Length: 5, 6\r\n', 'hello!'), 'DUPLICATE_CONTENT_LENGTH'),
  req('content-length with plus sign', post('Content-Length: +5\r\n', 'hello'), 'INVALID_CONTENT_LENGTH'),
  req('negative content-length', post('Content-Length: -1\r\n', ''), 'INVALID_CONTENT_LENGTH'),
  req('content-length with inner space', post('Content-Length: 1 0\r\n', 'helloworld'), 'INVALID_CONTENT_LENGTH'),
  req('hex content-length', post('Content-Length: 0x5\r\n', 'hello'), 'INVALID_CONTENT_LENGTH'),
  req('content-length of 16 digits', post('Content-Length: 1000000000000000\r\n', ''), 'INVALID_CONTENT_LENGTH'),
  req('empty content-length', post('Content-Length: \r\n', ''), 'INVALID_CONTENT_LENGTH'),
  req('content-length list with empty element', post('Content-Length: 5,,5\r\n', 'hello'), 'INVALID_CONTENT_LENGTH'),
  req('transfer-encoding gzip', post('Transfer-Encoding: gzip\r\n', ''), 'INVALID_TRANSFER_ENCODING'),
  req('transfer-encoding gzip, chunked', post('Transfer-Encoding: gzip, chunked\r\n', '0\r\n\r\n'), 'INVALID_TRANSFER_ENCODING'),
  req('transfer-encoding chunked, chunked', post('Transfer-Encoding: chunked, chunked\r\n', '0\r\n\r\n'), 'INVALID_TRANSFER_ENCODING'),
  req('two transfer-encoding chunked headers', post(`${chunked}${chunked}`, '0\r\n\r\n'), 'INVALID_TRANSFER_ENCODING'),
  req('transfer-encoding identity', post('Transfer-Encoding: identity\r\n', ''), 'INVALID_TRANSFER_ENCODING'),
  req('transfer-encoding chunked not last', post('Transfer-Encoding: chunked, gzip\r\n', '0\r\n\r\n'), 'INVALID_TRANSFER_ENCODING'),
  req('transfer-encoding chunked with a suffix', post('Transfer-Encoding: chunkedx\r\n', '0\r\n\r\n'), 'INVALID_TRANSFER_ENCODING'),
  req('transfer-encoding quoted chunked', post('Transfer-Encoding: "chunked"\r\n', '0\r\n\r\n'), 'INVALID_TRANSFER_ENCODING'),
  req('transfer-encoding chunked with parameter', post('Transfer-Encoding: chunked;q=1\r\n', '0\r\n\r\n'), 'INVALID_TRANSFER_ENCODING'),
  req('transfer-encoding with vertical tab', post('Transfer-Encoding:\x0bchunked\r\n', '0\r\n\r\n'), 'INVALID_HEADER_VALUE'),
  req('transfer-encoding with space before colon', post('Transfer-Encoding : chunked\r\n', '0\r\n\r\n'), 'WHITESPACE_BEFORE_COLON'),
  req('transfer-encoding folded onto next line', post('Transfer-Encoding:\r\n chunked\r\n', '0\r\n\r\n'), 'OBS_FOLD'),
  req('transfer-encoding in HTTP/1.0', `POST /upload HTTP/1.0\r\n${H}${chunked}\r\n0\r\n\r\n`, 'INVALID_TRANSFER_ENCODING'),
  // header syntax
  req('obs-fold continuation line', `GET / HTTP/1.1\r\n${H}X-Folded: a\r\n b\r\n\r\n`, 'OBS_FOLD'),
  req('whitespace before the first header', `GET / HTTP/1.1\r\n ${H}\r\n`, 'INVALID_HEADER_NAME'),
  req('bare CR inside a value', `GET / HTTP/1.1\r\n${H}X-A: b\rc\r\n\r\n`, 'INVALID_LINE_ENDING'),
  req('bare CR before CRLF', `GET / HTTP/1.1\r\n${H}X-A: b\r\r\n\r\n`, 'INVALID_LINE_ENDING'),
  req('bare LF ending a header', `GET / HTTP/1.1\r\nHost: backend\nX-A: b\r\n\r\n`, 'INVALID_LINE_ENDING'),
  req('bare LF ending the request line', `GET / HTTP/1.1\n${H}\r\n`, 'INVALID_LINE_ENDING'),
  req('bare LF line endings throughout', `GET / HTTP/1.1\nHost: backend\n\n`, 'INVALID_LINE_ENDING'),
  req('NUL in a header value', `GET / HTTP/1.1\r\n${H}X-A: b\x00c\r\n\r\n`, 'INVALID_HEADER_VALUE'),
  req('DEL in a header value', `GET / HTTP/1.1\r\n${H}X-A: b\x7fc\r\n\r\n`, 'INVALID_HEADER_VALUE'),
  req('NUL in a header name', `GET / HTTP/1.1\r\n${H}X-\x00A: b\r\n\r\n`, 'INVALID_HEADER_NAME'),
  req('space before colon', `GET / HTTP/1.1\r\nHost : backend\r\n\r\n`, 'WHITESPACE_BEFORE_COLON'),
  req('tab before colon', `GET / HTTP/1.1\r\n${H}X-A\t: b\r\n\r\n`, 'WHITESPACE_BEFORE_COLON'),
  req('parenthesis in a header name', `GET / HTTP/1.1\r\n${H}X(A): b\r\n\r\n`, 'INVALID_HEADER_NAME'),
  req('empty header name', `GET / HTTP/1.1\r\n${H}: b\r\n\r\n`, 'INVALID_HEADER_NAME'),
  req('h2 pseudo-header', `GET / HTTP/1.1\r\n${H}:path: /admin\r\n\r\n`, 'INVALID_HEADER_NAME'),
  req('header line without colon', `GET / HTTP/1.1\r\n${H}X-A\r\n\r\n`, 'INVALID_HEADER_NAME'),
  // request line
  req('invalid character in method', `G(T / HTTP/1.1\r\n${H}\r\n`, 'INVALID_METHOD'),
  req('method with a slash', `GET/ / HTTP/1.1\r\n${H}\r\n`, 'INVALID_METHOD'),
  req('two spaces after method', `GET  / HTTP/1.1\r\n${H}\r\n`, 'INVALID_TARGET'),
  req('control character in target', `GET /a\x01b HTTP/1.1\r\n${H}\r\n`, 'INVALID_TARGET'),
  req('userinfo in absolute-form target', `GET http://user@backend/ HTTP/1.1\r\n${H}\r\n`, 'INVALID_TARGET'),
  req('asterisk target with GET', `GET * HTTP/1.1\r\n${H}\r\n`, 'INVALID_TARGET'),
  req('CONNECT with origin-form target', `CONNECT / HTTP/1.1\r\n${H}\r\n`, 'INVALID_TARGET'),
  req('HTTP/2.0 version', `GET / HTTP/2.0\r\n${H}\r\n`, 'INVALID_VERSION'),
  req('HTTP/1.2 version', `GET / HTTP/1.2\r\n${H}\r\n`, 'INVALID_VERSION'),
  req('lowercase http/1.1', `GET / http/1.1\r\n${H}\r\n`, 'INVALID_VERSION'),
  req('HTTP/0.9 request without version', `GET /\r\n\r\n`, 'INVALID_VERSION'),
  req('space after version', `GET / HTTP/1.1 \r\n${H}\r\n`, 'INVALID_VERSION'),
  // Host
  req('missing Host in HTTP/1.1', `GET / HTTP/1.1\r\nAccept: */*\r\n\r\n`, 'MISSING_HOST'),
  req('duplicate Host', `GET / HTTP/1.1\r\n${H}Host: other\r\n\r\n`, 'DUPLICATE_HOST'),
  req('Host with userinfo', `GET / HTTP/1.1\r\nHost: user@backend\r\n\r\n`, 'INVALID_HEADER_VALUE'),
  req('Host with inner space', `GET / HTTP/1.1\r\nHost: back end\r\n\r\n`, 'INVALID_HEADER_VALUE'),
  req('Host with a path', `GET / HTTP/1.1\r\nHost: backend/admin\r\n\r\n`, 'INVALID_HEADER_VALUE'),
  // limits
  req('more than 100 headers', `GET / HTTP/1.1\r\n${H}${manyHeaders(120)}\r\n`, 'TOO_MANY_HEADERS', 431),
  req('70 KiB header block', `GET / HTTP/1.1\r\n${H}X-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`, 'HEAD_TOO_LARGE', 431),
  req('70 KiB request target', `GET /${'b'.repeat(70 * 1024)} HTTP/1.1\r\n${H}\r\n`, 'HEAD_TOO_LARGE', 431),
  // chunked framing
  req('negative hex chunk size', post(chunked, '-0x5\r\nhello\r\n0\r\n\r\n'), 'BAD_CHUNK_SIZE'),
  req('chunk size with 0x prefix', post(chunked, '0x5\r\nhello\r\n0\r\n\r\n'), 'BAD_CHUNK_SIZE'),
  req('19-digit chunk size', post(chunked, 'fffffffffffffffffff\r\nhello\r\n0\r\n\r\n'), 'BAD_CHUNK_SIZE'),
  req('chunk size with trailing space', post(chunked, '5 \r\nhello\r\n0\r\n\r\n'), 'BAD_CHUNK_SIZE'),
  req('empty chunk size line', post(chunked, '\r\nhello\r\n0\r\n\r\n'), 'BAD_CHUNK_SIZE'),
  req('chunk size ended by bare LF', post(chunked, '5\nhello\r\n0\r\n\r\n'), 'INVALID_LINE_ENDING'),
  req('chunk extension ended by bare LF', post(chunked, '5;ext=1\nhello\r\n0\r\n\r\n'), 'INVALID_LINE_ENDING'),
  req('chunk data not followed by CRLF', post(chunked, '5\r\nhelloX\r\n0\r\n\r\n'), 'BAD_CHUNK_TERMINATOR'),
  req('chunk data followed by bare LF', post(chunked, '5\r\nhello\n0\r\n\r\n'), 'BAD_CHUNK_TERMINATOR'),
  req('chunk size line over 4 KiB', post(chunked, `5;${'e'.repeat(5000)}\r\nhello\r\n0\r\n\r\n`), 'CHUNK_LINE_TOO_LONG'),
  req('folded trailer field', post(chunked, '0\r\nX-T: a\r\n b\r\n\r\n'), 'INVALID_TRAILER'),
  req('trailer with space before colon', post(chunked, '0\r\nX-T : a\r\n\r\n'), 'INVALID_TRAILER'),
  req('trailer ended by bare LF', post(chunked, '0\r\nX-T: a\n\r\n'), 'INVALID_LINE_ENDING'),
];
