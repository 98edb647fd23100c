// node:http2 on first use. Importing it loads Node's whole HTTP/2 stack (its
// JS, the nghttp2 binding and node:tls): about 3 MB of RSS per isolate (1.8 MB
// of heap, the rest pages of the node binary), while most sidecars never
// speak HTTP/2 through Node's stack (plaintext HTTP/1.1, or the native h2
// session). So the modules that drive it take it from here when a session
// starts; a static `import ... from 'node:http2'` must stay type-only
// (test/workers/worker-packages.test.ts checks the data plane does not load it).
import { createRequire } from 'node:module';

type NodeHttp2 = typeof import('node:http2');

let loaded: NodeHttp2 | undefined;

/** Takes nothing; returns node:http2, loading it on the first call. */
export function nodeHttp2(): NodeHttp2 {
  return (loaded ??= createRequire(import.meta.url)('node:http2') as NodeHttp2);
}

/** The http2 `constants` the data plane uses before (or without) a session: RFC 9113 values, so no load is needed. */
export const H2 = {
  NGHTTP2_NO_ERROR: 0,
  NGHTTP2_REFUSED_STREAM: 7,
  NGHTTP2_CANCEL: 8,
  NGHTTP2_ENHANCE_YOUR_CALM: 11,
  HTTP2_HEADER_STATUS: ':status',
  HTTP2_HEADER_METHOD: ':method',
  HTTP2_HEADER_PATH: ':path',
  HTTP2_HEADER_AUTHORITY: ':authority',
  HTTP2_HEADER_CONTENT_TYPE: 'content-type',
  HTTP2_HEADER_TE: 'te',
} as const;
