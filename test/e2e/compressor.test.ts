// envoy.filters.http.compressor end to end: a proxy with 2 workers, gzip and
// brotli compressors in one chain, a real node:http upstream. What a user
// sees: bodies that decompress to the upstream's bytes (a 5 MB streamed body
// too, without Content-Length), Accept-Encoding negotiation with q-values,
// no double compression, min_content_length, content types, HEAD/204, the
// ETag rules, Vary, and the http.<prefix>.compressor.* stats.
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { withHttpFilters } from './http-filter-config.js';

const COMPRESSOR_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const TEXT = Buffer.from('The quick brown fox jumps over the lazy dog. '.repeat(2000));
const BIG_PIECES = 80;
const PIECE = 64 * 1024;

/** Deterministic, somewhat compressible bytes: piece i of the 5 MB body. */
function bigPiece(i: number): Buffer {
  const b = Buffer.alloc(PIECE);
  let x = i * 2654435761;
  for (let k = 0; k < PIECE; k++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[k] = 97 + ((x >>> 16) % 8);
  }
  return b;
}

/** The incompressible body for the backpressure test: how much the upstream handed to its socket, and the digest of all of it. */
const HUGE_BYTES = 64 * 1024 * 1024;
const huge = { written: 0, digest: '' };

let upstream: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    const path = req.url ?? '/';
    if (path === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const next = (): void => {
        while (i < BIG_PIECES) {
          if (!res.write(bigPiece(i++))) {
            res.once('drain', next);
            return;
          }
        }
        res.end();
      };
      next();
      return;
    }
    if (path === '/huge') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const hash = createHash('sha256');
      const next = (): void => {
        while (huge.written < HUGE_BYTES) {
          const piece = randomBytes(PIECE);
          hash.update(piece);
          huge.written += piece.length;
          if (!res.write(piece)) {
            res.once('drain', next);
            return;
          }
        }
        huge.digest = hash.digest('hex');
        res.end();
      };
      next();
      return;
    }
    if (path === '/encoded') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      res.end(zlib.gzipSync(TEXT));
      return;
    }
    if (path === '/no-content') {
      res.writeHead(204);
      res.end();
      return;
    }
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8' };
    let body = TEXT;
    if (path === '/small') body = TEXT.subarray(0, 60);
    if (path === '/image') headers['content-type'] = 'image/png';
    if (path === '/etag') headers.etag = '"v1"';
    if (path === '/weak-etag') headers.etag = 'W/"v1"';
    if (path === '/no-transform') headers['cache-control'] = 'public, no-transform';
    if (path === '/vary') headers.vary = 'Origin';
    headers['content-length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  const off = { '@type': `${COMPRESSOR_TYPE}PerRoute`, disabled: true };
  const routes = [
    {
      match: { prefix: '/plain' },
      route: { cluster: 'backend', timeout: '30s' },
      typed_per_filter_config: { 'envoy.filters.http.compressor': off, 'compressor.brotli': off },
    },
    { match: { prefix: '/' }, route: { cluster: 'backend', timeout: '30s' } },
  ];
  const bootstrap = bootstrapWith({ virtual_hosts: [{ name: 'svc', domains: ['*'], routes }] }, [{ name: 'backend', ports: [upstream.port] }]);
  proxy = await startProxy({
    bootstrap: withHttpFilters(bootstrap, [
      {
        name: 'envoy.filters.http.compressor',
        typed_config: {
          '@type': COMPRESSOR_TYPE,
          response_direction_config: { common_config: { min_content_length: 100, content_type: ['text/plain', 'application/json'] } },
          compressor_library: {
            name: 'text_optimized',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip', memory_level: 3, window_bits: 10, compression_level: 'BEST_COMPRESSION' },
          },
        },
      },
      {
        name: 'compressor.brotli',
        typed_config: {
          '@type': COMPRESSOR_TYPE,
          response_direction_config: { common_config: { min_content_length: 100, content_type: ['text/plain'] }, disable_on_etag_header: true, remove_accept_encoding_header: true },
          compressor_library: {
            name: 'text_brotli',
            typed_config: { '@type': 'type.googleapis.com/envoy.extensions.compression.brotli.compressor.v3.Brotli', quality: 4, window_bits: 16 },
          },
        },
      },
      { name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } },
    ]),
    workers: 2,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
}

function get(path: string, acceptEncoding: string | null, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (acceptEncoding !== null) headers['accept-encoding'] = acceptEncoding;
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function decoded(r: Got): Buffer {
  const enc = r.headers['content-encoding'];
  if (enc === 'gzip') return zlib.gunzipSync(r.raw);
  if (enc === 'br') return zlib.brotliDecompressSync(r.raw);
  return r.raw;
}

describe('compressor', () => {
  it('gzips a text body that gunzips to the upstream bytes, without Content-Length, with Vary', async () => {
    const r = await get('/text', 'gzip');
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(r.headers['content-length']).toBeUndefined();
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(r.headers.vary).toBe('Accept-Encoding');
    expect(r.raw.length).toBeLessThan(TEXT.length / 10);
    expect(decoded(r).equals(TEXT)).toBe(true);
  });

  it('leaves a route alone whose CompressorPerRoute says disabled', async () => {
    const r = await get('/plain', 'gzip, br');
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.raw.equals(TEXT)).toBe(true);
  });

  it('keeps Accept-Encoding from the upstream with remove_accept_encoding_header', async () => {
    const before = upstream.seen.length;
    await get('/text', 'gzip, br');
    expect(upstream.seen.length).toBe(before + 1);
    expect(upstream.seen[before]!.headers['accept-encoding']).toBeUndefined();
  });

  it('brotli-compresses when br has the higher q-value, and picks by q, *, identity', async () => {
    const br = await get('/text', 'gzip;q=0.5, br;q=0.9');
    expect(br.headers['content-encoding']).toBe('br');
    expect(decoded(br).equals(TEXT)).toBe(true);
    expect((await get('/text', 'br;q=0, gzip')).headers['content-encoding']).toBe('gzip');
    expect((await get('/text', '*')).headers['content-encoding']).toBe('gzip'); // the first compressor of the chain
    const identity = await get('/text', 'gzip;q=0.5, identity');
    expect(identity.headers['content-encoding']).toBeUndefined();
    expect(identity.headers.vary).toBe('Accept-Encoding'); // compressible: the answer depends on Accept-Encoding
    expect(identity.raw.equals(TEXT)).toBe(true);
    const none = await get('/text', null);
    expect(none.headers['content-encoding']).toBeUndefined();
    expect(none.headers['content-length']).toBe(String(TEXT.length));
  });

  it('streams a 5 MB chunked body through gzip and brotli intact', async () => {
    const expected = Buffer.concat(Array.from({ length: BIG_PIECES }, (_, i) => bigPiece(i)));
    for (const enc of ['gzip', 'br']) {
      const r = await get('/big', enc);
      expect(r.headers['content-encoding']).toBe(enc);
      expect(r.raw.length).toBeLessThan(expected.length);
      expect(decoded(r).equals(expected)).toBe(true);
    }
  });

  it('holds the upstream back while the client does not read a compressed body (no whole-body buffering)', async () => {
    const result = await new Promise<{ writtenWhilePaused: number; digest: string; length: number }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, path: '/huge', headers: { 'accept-encoding': 'gzip' }, agent: false }, (res) => {
        res.pause();
        setTimeout(() => {
          const writtenWhilePaused = huge.written;
          const gunzip = zlib.createGunzip();
          const hash = createHash('sha256');
          let length = 0;
          gunzip.on('data', (c: Buffer) => {
            hash.update(c);
            length += c.length;
          });
          gunzip.on('end', () => resolve({ writtenWhilePaused, digest: hash.digest('hex'), length }));
          gunzip.on('error', reject);
          res.pipe(gunzip);
        }, 1500);
      });
      req.setTimeout(60_000, () => req.destroy(new Error('/huge timed out')));
      req.on('error', reject);
      req.end();
    });
    // Socket buffers on the way hold some megabytes; without backpressure the proxy would take all 64 MB at once.
    expect(result.writtenWhilePaused).toBeLessThan(HUGE_BYTES / 2);
    expect(result.length).toBe(HUGE_BYTES);
    expect(result.digest).toBe(huge.digest);
  }, 90_000);

  it('never compresses an encoded body, a small one, another content type, HEAD, 204 or no-transform', async () => {
    const encoded = await get('/encoded', 'gzip, br');
    expect(encoded.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(encoded.raw).equals(TEXT)).toBe(true); // once, not twice
    const small = await get('/small', 'gzip');
    expect(small.headers['content-encoding']).toBeUndefined();
    expect(small.raw.length).toBe(60);
    const image = await get('/image', 'gzip');
    expect(image.headers['content-encoding']).toBeUndefined();
    expect(image.headers.vary).toBeUndefined();
    const head = await get('/text', 'gzip', 'HEAD');
    expect(head.headers['content-encoding']).toBeUndefined();
    expect((await get('/no-content', 'gzip')).status).toBe(204);
    expect((await get('/no-transform', 'gzip')).headers['content-encoding']).toBeUndefined();
    const vary = await get('/vary', 'gzip');
    expect(vary.headers.vary).toBe('Origin, Accept-Encoding');
  });

  it('weakens a strong ETag, and disable_on_etag_header leaves such responses alone', async () => {
    const gz = await get('/etag', 'gzip');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.etag).toBe('W/"v1"');
    expect((await get('/weak-etag', 'gzip')).headers.etag).toBe('W/"v1"');
    const br = await get('/etag', 'br');
    expect(br.headers['content-encoding']).toBeUndefined(); // the brotli compressor has disable_on_etag_header
    expect(br.headers.etag).toBe('"v1"');
  });

  it('counts compressed and not compressed responses and bytes per compressor', async () => {
    const stats = (await admin(proxy, '/stats?filter=compressor')).body;
    const value = (name: string): number => Number(new RegExp(`^${name.replace(/\./g, '\\.')}: (\\d+)$`, 'm').exec(stats)?.[1] ?? NaN);
    expect(value('http.outbound.compressor.text_optimized.gzip.compressed')).toBeGreaterThanOrEqual(5);
    expect(value('http.outbound.compressor.text_brotli.brotli.compressed')).toBeGreaterThanOrEqual(2);
    expect(value('http.outbound.compressor.text_optimized.gzip.not_compressed')).toBeGreaterThan(0);
    expect(value('http.outbound.compressor.text_optimized.gzip.total_uncompressed_bytes')).toBeGreaterThan(5 * 1024 * 1024);
    expect(value('http.outbound.compressor.text_optimized.gzip.total_compressed_bytes')).toBeGreaterThan(0);
    expect(value('http.outbound.compressor.text_optimized.gzip.total_compressed_bytes'))
      .toBeLessThan(value('http.outbound.compressor.text_optimized.gzip.total_uncompressed_bytes'));
  });
});
