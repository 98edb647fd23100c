// envoy.filters.http.compressor as a filter of the chain: on the request head
// it notes Accept-Encoding (and HEAD); on the response head it decides, as
// Envoy does, whether to compress: a body is coming (not HEAD/1xx/204/304, not
// empty), Content-Length at least min_content_length (or chunked), a content
// type in the list (or none), no Cache-Control no-transform, no ETag when
// disable_on_etag_header, no Content-Encoding already, and the negotiated
// encoding is this compressor's. Then Content-Length goes (the body goes out
// chunked), Content-Encoding is set, a strong ETag becomes weak, and the body
// streams through a Node zlib stream (gzip or brotli), flushed per upstream
// read so nothing waits for the whole body, with backpressure both ways.
// Every compressible response gets Vary: Accept-Encoding.
import * as zlib from 'node:zlib';
import type { CompressorConfig } from '../../../src/config/compressor-config.js';
import { findHeader } from '../../header-block.js';
import { COMPRESSOR_STAT } from '../../shared-state/rate-limit-buckets.js';
import { BodyMode } from '../../upstream-connection.js';
import {
  FilterStatus, PassThroughFilter, type HttpFilterCallbacks, type HttpFilterFactory, type ResponseBodySink,
  type ResponseBodyTransform, type ResponseHeaderEdit,
} from '../http-filter.js';
import { chooseEncoding } from './accept-encoding.js';

/** Where a compressor's counters live: a stat slot of the shared table (ints and the same memory as int64s). */
export interface CompressorCounters {
  readonly ints: Int32Array;
  readonly wide: BigInt64Array;
  readonly base: number;
}

export class CompressorFactory implements HttpFilterFactory {
  readonly name: string;

  constructor(
    readonly config: CompressorConfig,
    /** The encodings of every compressor in the chain, in chain order (negotiation picks one of them). */
    readonly offered: readonly string[],
    /** The first compressor of the chain adds Vary (once, whichever compresses). */
    readonly addsVary: boolean,
    readonly counters: CompressorCounters,
  ) {
    this.name = config.filterName;
  }

  create(callbacks: HttpFilterCallbacks): CompressorFilter {
    return new CompressorFilter(this, callbacks);
  }

  count(field: number): void {
    Atomics.add(this.counters.ints, this.counters.base + field, 1);
  }

  countBytes(uncompressed: number, compressed: number): void {
    const at = (this.counters.base >> 1) + COMPRESSOR_STAT.WIDE_UNCOMPRESSED_BYTES;
    Atomics.add(this.counters.wide, at, BigInt(uncompressed));
    Atomics.add(this.counters.wide, at + 1, BigInt(compressed));
  }

  /** A new compression stream with the library's options. */
  createStream(): zlib.Gzip | zlib.BrotliCompress {
    const c = this.config;
    if (c.gzip !== null) {
      const g = c.gzip;
      return zlib.createGzip({ level: g.level, memLevel: g.memLevel, windowBits: g.windowBits, strategy: g.strategy, chunkSize: g.chunkSize });
    }
    const b = c.brotli!;
    const P = zlib.constants;
    return zlib.createBrotliCompress({
      chunkSize: b.chunkSize,
      params: {
        [P.BROTLI_PARAM_QUALITY]: b.quality,
        [P.BROTLI_PARAM_LGWIN]: b.windowBits,
        [P.BROTLI_PARAM_LGBLOCK]: b.inputBlockBits,
        [P.BROTLI_PARAM_MODE]: b.mode,
        [P.BROTLI_PARAM_DISABLE_LITERAL_CONTEXT_MODELING]: b.disableLiteralContextModeling ? 1 : 0,
      },
    });
  }
}

const NO_TRANSFORM = /(^|,)\s*no-transform\s*(,|$)/i;

export class CompressorFilter extends PassThroughFilter implements ResponseBodyTransform {
  private acceptEncoding: string | undefined = undefined;
  private stream: zlib.Gzip | zlib.BrotliCompress | null = null;
  private sink: ResponseBodySink | null = null;
  private paused = false;
  private uncompressedBytes = 0;
  private compressedBytes = 0;
  private done = false;

  constructor(
    private readonly factory: CompressorFactory,
    private readonly callbacks: HttpFilterCallbacks,
  ) {
    super();
  }

  decodeHeaders(head: Buffer, fields: Uint32Array): FilterStatus {
    this.acceptEncoding = findHeader(head, fields, 'accept-encoding');
    if (this.factory.config.removeAcceptEncoding && this.acceptEncoding !== undefined) this.callbacks.removeUpstreamRequestHeader('accept-encoding');
    return FilterStatus.CONTINUE;
  }

  override encodeHeaders(edit: ResponseHeaderEdit): void {
    const head = edit.head;
    const fields = edit.fields;
    if (head === null || fields === null) return; // a local reply: left as it is
    const f = this.factory;
    const c = f.config;
    if (!this.compressible(edit, head, fields)) {
      f.count(COMPRESSOR_STAT.NOT_COMPRESSED);
      return;
    }
    if (f.addsVary) addVary(edit, findHeader(head, fields, 'vary'));
    if (edit.body !== null || chooseEncoding(this.acceptEncoding, f.offered) !== c.encoding) {
      f.count(COMPRESSOR_STAT.NOT_COMPRESSED);
      return;
    }
    const etag = findHeader(head, fields, 'etag');
    if (etag !== undefined && !etag.startsWith('W/')) {
      // The compressed body is no longer byte-identical: a strong validator becomes weak (as Envoy does).
      edit.remove = [...(edit.remove ?? []), 'etag'];
      edit.add += `etag: W/${etag}\r\n`;
    }
    edit.add += `content-encoding: ${c.encoding}\r\n`;
    edit.body = this;
    f.count(COMPRESSOR_STAT.COMPRESSED);
  }

  /** Envoy's isCompressible, plus the responses that carry no body. */
  private compressible(edit: ResponseHeaderEdit, head: Buffer, fields: Uint32Array): boolean {
    const c = this.factory.config;
    const status = edit.status;
    if (!c.enabled || this.callbacks.method === 'HEAD' || status < 200 || status === 204 || status === 304) return false;
    if (edit.bodyMode === BodyMode.LENGTH) {
      const length = Number(findHeader(head, fields, 'content-length') ?? '0');
      if (!(length >= c.minContentLength) || length === 0) return false;
    } else if (edit.bodyMode !== BodyMode.CHUNKED) {
      return false; // no body, or one delimited by the connection's close (Envoy compresses neither)
    }
    if (findHeader(head, fields, 'content-encoding') !== undefined) return false;
    const type = findHeader(head, fields, 'content-type');
    if (type !== undefined) {
      const semi = type.indexOf(';');
      const media = (semi < 0 ? type : type.slice(0, semi)).trim().toLowerCase();
      if (!c.contentTypes.includes(media)) return false;
    }
    const cacheControl = findHeader(head, fields, 'cache-control');
    if (cacheControl !== undefined && NO_TRANSFORM.test(cacheControl)) return false;
    if (c.disableOnEtag && findHeader(head, fields, 'etag') !== undefined) return false;
    return true;
  }

  // ---- ResponseBodyTransform ----

  start(sink: ResponseBodySink): void {
    // A retried request's second response: the first one's stream (which never got a byte) goes.
    if (this.stream !== null) this.stream.destroy();
    this.uncompressedBytes = 0;
    this.compressedBytes = 0;
    this.paused = false;
    this.sink = sink;
    const stream = (this.stream = this.factory.createStream());
    stream.on('data', (piece: Buffer) => this.onCompressed(piece));
    stream.on('end', () => this.onEnd());
    stream.on('error', () => this.onError());
    stream.on('drain', () => this.sink?.onTransformDrained());
  }

  write(piece: Buffer): boolean {
    const stream = this.stream!;
    this.uncompressedBytes += piece.length;
    const more = stream.write(piece);
    // Flushed per upstream read, as Envoy does per data frame: a streamed response is not held back.
    stream.flush(this.factory.config.gzip !== null ? zlib.constants.Z_SYNC_FLUSH : zlib.constants.BROTLI_OPERATION_FLUSH);
    return more;
  }

  end(): void {
    this.stream!.end();
  }

  resume(): void {
    if (this.paused && this.stream !== null) {
      this.paused = false;
      this.stream.resume();
    }
  }

  private onCompressed(piece: Buffer): void {
    if (this.done || piece.length === 0) return;
    this.compressedBytes += piece.length;
    if (!this.sink!.onTransformedData(piece)) {
      this.paused = true;
      this.stream!.pause();
    }
  }

  private onEnd(): void {
    if (this.done) return;
    this.finish();
    this.sink!.onTransformedEnd();
  }

  private onError(): void {
    if (this.done) return;
    this.finish();
    this.sink!.onTransformFailed();
  }

  private finish(): void {
    this.done = true;
    this.factory.countBytes(this.uncompressedBytes, this.compressedBytes);
  }

  override onDestroy(): void {
    if (this.stream === null) return;
    if (!this.done) this.finish();
    this.stream.destroy();
  }
}

/** Vary gets Accept-Encoding (appended to a Vary the upstream sent, unless it names it or `*`). */
function addVary(edit: ResponseHeaderEdit, vary: string | undefined): void {
  if (vary === undefined) {
    edit.add += 'vary: Accept-Encoding\r\n';
    return;
  }
  if (/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(vary)) return;
  edit.remove = [...(edit.remove ?? []), 'vary'];
  edit.add += `vary: ${vary}, Accept-Encoding\r\n`;
}
