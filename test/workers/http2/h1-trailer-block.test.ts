import { describe, expect, it } from 'vitest';
import { allowedTrailers, lastChunkWithTrailers, teAcceptsTrailers, trailerFields } from '../../../workers/http2/h1-trailer-block.js';

describe('h1-trailer-block', () => {
  it('te lists trailers: any position, case, with parameters on other codings', () => {
    expect(teAcceptsTrailers('trailers')).toBe(true);
    expect(teAcceptsTrailers('gzip;q=0.5, Trailers')).toBe(true);
    expect(teAcceptsTrailers('deflate, gzip')).toBe(false);
    expect(teAcceptsTrailers('trailersx')).toBe(false);
  });

  it('the last chunk carries allowed fields only; none left is the plain last chunk', () => {
    const t = { 'grpc-status': '0', 'content-length': '5', host: 'x', 'bad name': 'v', 'x-crlf': 'a\r\nb: c', authorization: 's' };
    expect(lastChunkWithTrailers(t).toString('latin1')).toBe('0\r\ngrpc-status: 0\r\n\r\n');
    expect(lastChunkWithTrailers({ 'content-length': '1' }).toString('latin1')).toBe('0\r\n\r\n');
    expect(allowedTrailers(t)).toEqual({ 'grpc-status': '0' });
  });

  it('native trailer lines become fields, repeated names joined', () => {
    expect(trailerFields('a: 1\r\nb: two words\r\na: 3\r\n')).toEqual({ a: '1, 3', b: 'two words' });
    expect(trailerFields('')).toEqual({});
  });
});
