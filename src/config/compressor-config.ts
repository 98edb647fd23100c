// extensions.filters.http.compressor.v3.Compressor with the gzip or brotli
// compressor library (extensions.compression.{gzip,brotli}.compressor.v3):
// the response direction only (min_content_length, content_type,
// disable_on_etag_header), as Envoy reads it, with Envoy's defaults.

import { readTypedConfig, readTypedConfigOf } from './typed-config.js';
import { UINT32_MAX, type ObjectReader, type ValueReader } from './yaml-reader.js';

export { COMPRESSOR_FILTER_NAME } from './http-filter-names.js';
export const COMPRESSOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor';
const GZIP_TYPE_URL = 'type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip';
const BROTLI_TYPE_URL = 'type.googleapis.com/envoy.extensions.compression.brotli.compressor.v3.Brotli';

/** Envoy's default content types for compression (compressor_filter.cc). */
export const DEFAULT_CONTENT_TYPES: readonly string[] = Object.freeze([
  'text/html', 'text/plain', 'text/css', 'application/javascript', 'application/x-javascript', 'text/javascript',
  'text/x-javascript', 'text/ecmascript', 'text/js', 'text/jscript', 'text/x-js', 'application/ecmascript',
  'application/x-json', 'application/xml', 'application/json', 'image/svg+xml', 'text/xml', 'application/xhtml+xml',
]);

export interface GzipOptions {
  /** zlib level 1-9, or -1 for zlib's default (Envoy's DEFAULT_COMPRESSION). */
  readonly level: number;
  readonly memLevel: number;
  readonly windowBits: number;
  /** zlib strategy constant (Z_DEFAULT_STRATEGY 0, Z_FILTERED 1, Z_HUFFMAN_ONLY 2, Z_RLE 3, Z_FIXED 4). */
  readonly strategy: number;
  readonly chunkSize: number;
}

export interface BrotliOptions {
  readonly quality: number;
  readonly windowBits: number;
  readonly inputBlockBits: number;
  /** BROTLI_MODE_GENERIC 0, TEXT 1, FONT 2 (Envoy's DEFAULT is generic). */
  readonly mode: number;
  readonly disableLiteralContextModeling: boolean;
  readonly chunkSize: number;
}

export interface CompressorConfig {
  /** The http_filters entry's name (a chain may hold one compressor per encoding, each under its own name). */
  readonly filterName: string;
  /** The Content-Encoding token: 'gzip' or 'br'. */
  readonly encoding: 'gzip' | 'br';
  /** compressor_library.name: the stats' <name>. */
  readonly libraryName: string;
  /** The stats' <library> part: Envoy's compressor library stat prefix ('gzip' or 'brotli'). */
  readonly libraryStat: 'gzip' | 'brotli';
  readonly gzip: GzipOptions | null;
  readonly brotli: BrotliOptions | null;
  /** response_direction_config.common_config.min_content_length; default 30. */
  readonly minContentLength: number;
  /** Lowercased media types; default DEFAULT_CONTENT_TYPES. */
  readonly contentTypes: readonly string[];
  readonly disableOnEtag: boolean;
  /** remove_accept_encoding_header: the upstream never sees the client's Accept-Encoding. */
  readonly removeAcceptEncoding: boolean;
  /** common_config.enabled default_value; default true. */
  readonly enabled: boolean;
}

const GZIP_LEVELS: Record<string, number> = {
  DEFAULT_COMPRESSION: -1, BEST_SPEED: 1, BEST_COMPRESSION: 9,
  COMPRESSION_LEVEL_1: 1, COMPRESSION_LEVEL_2: 2, COMPRESSION_LEVEL_3: 3, COMPRESSION_LEVEL_4: 4, COMPRESSION_LEVEL_5: 5,
  COMPRESSION_LEVEL_6: 6, COMPRESSION_LEVEL_7: 7, COMPRESSION_LEVEL_8: 8, COMPRESSION_LEVEL_9: 9,
};
const GZIP_STRATEGIES: Record<string, number> = { DEFAULT_STRATEGY: 0, FILTERED: 1, HUFFMAN_ONLY: 2, RLE: 3, FIXED: 4 };
const BROTLI_MODES: Record<string, number> = { DEFAULT: 0, GENERIC: 0, TEXT: 1, FONT: 2 };

/** google.protobuf.UInt32Value: a bare number or `{ value }`; `fallback` when missing. */
function uint32Value(v: ValueReader, min: number, max: number, fallback: number): number | undefined {
  if (v.missing) return fallback;
  if (!v.isMap()) return v.integer(min, max);
  const obj = v.object()!;
  const value = obj.field('value').integer(min, max);
  obj.done();
  return value;
}

function enumValue(v: ValueReader, table: Record<string, number>, fallback: number): number | undefined {
  if (v.missing) return fallback;
  const name = v.enumOf(Object.keys(table));
  return name === undefined ? undefined : table[name];
}

function readGzip(obj: ObjectReader): GzipOptions | undefined {
  const memLevel = uint32Value(obj.field('memory_level'), 1, 9, 5);
  const windowBits = uint32Value(obj.field('window_bits'), 9, 15, 12);
  const level = enumValue(obj.field('compression_level'), GZIP_LEVELS, -1);
  const strategy = enumValue(obj.field('compression_strategy'), GZIP_STRATEGIES, 0);
  const chunkSize = uint32Value(obj.field('chunk_size'), 4096, 65536, 4096);
  obj.done();
  if (memLevel === undefined || windowBits === undefined || level === undefined || strategy === undefined || chunkSize === undefined) return undefined;
  return { level, memLevel, windowBits, strategy, chunkSize };
}

function readBrotli(obj: ObjectReader): BrotliOptions | undefined {
  const quality = uint32Value(obj.field('quality'), 0, 11, 3);
  const windowBits = uint32Value(obj.field('window_bits'), 10, 24, 18);
  const inputBlockBits = uint32Value(obj.field('input_block_bits'), 16, 24, 24);
  const mode = enumValue(obj.field('encoder_mode'), BROTLI_MODES, 0);
  const chunkSize = uint32Value(obj.field('chunk_size'), 4096, 65536, 4096);
  const disableLiteralContextModeling = obj.field('disable_literal_context_modeling').bool() ?? false;
  obj.done();
  if (quality === undefined || windowBits === undefined || inputBlockBits === undefined || mode === undefined || chunkSize === undefined) return undefined;
  return { quality, windowBits, inputBlockBits, mode, disableLiteralContextModeling, chunkSize };
}

/** core.v3.RuntimeFeatureFlag: default_value (a BoolValue); runtime_key is accepted and ignored (no runtime layer). */
function readFeatureFlag(v: ValueReader): boolean | undefined {
  if (v.missing) return true;
  const obj = v.object();
  if (obj === undefined) return undefined;
  const def = obj.field('default_value');
  def.require();
  let value: boolean | undefined;
  if (def.isMap()) {
    const d = def.object()!;
    value = d.field('value').bool() ?? false;
    d.done();
  } else value = def.bool();
  obj.field('runtime_key').string();
  obj.done();
  return value;
}

export const COMPRESSOR_PER_ROUTE_TYPE_URL = 'type.googleapis.com/envoy.extensions.filters.http.compressor.v3.CompressorPerRoute';

/** Whether a typed_per_filter_config entry is a CompressorPerRoute. */
export function isCompressorPerRoute(v: ValueReader): boolean {
  if (!v.isMap()) return false;
  const node = v.node as { get?: (k: string) => unknown };
  return typeof node.get === 'function' && node.get('@type') === COMPRESSOR_PER_ROUTE_TYPE_URL;
}

/** CompressorPerRoute: `disabled: true` turns the compressor off for the route; `overrides` is refused. Returns disabled. */
export function readCompressorPerRoute(v: ValueReader): boolean | undefined {
  const obj = readTypedConfig(v, COMPRESSOR_PER_ROUTE_TYPE_URL);
  if (obj === undefined) return undefined;
  const disabled = obj.field('disabled').bool() ?? false;
  const overrides = obj.field('overrides');
  if (!overrides.missing) overrides.problem('is not supported (only disabled)');
  obj.done();
  return overrides.missing ? disabled : undefined;
}

/** Whether a typed_config names the Compressor filter (its http_filters name is then free). */
export function isCompressorTypedConfig(v: ValueReader): boolean {
  if (!v.isMap()) return false;
  const node = v.node as { get?: (k: string) => unknown };
  return typeof node.get === 'function' && node.get('@type') === COMPRESSOR_TYPE_URL;
}

/** A Compressor typed_config; undefined after reporting a problem. */
export function readCompressor(v: ValueReader, filterName: string): CompressorConfig | undefined {
  const obj = readTypedConfig(v, COMPRESSOR_TYPE_URL);
  if (obj === undefined) return undefined;
  let ok = true;
  const libField = obj.field('compressor_library');
  libField.require();
  let library: { encoding: 'gzip' | 'br'; libraryName: string; libraryStat: 'gzip' | 'brotli'; gzip: GzipOptions | null; brotli: BrotliOptions | null } | undefined;
  const lib = libField.object();
  if (lib !== undefined) {
    const nameField = lib.field('name');
    nameField.require();
    const libraryName = nameField.nonEmptyString();
    const typedField = lib.field('typed_config');
    typedField.require();
    const typed = typedField.missing ? undefined : readTypedConfigOf(typedField, [GZIP_TYPE_URL, BROTLI_TYPE_URL]);
    if (typed !== undefined && libraryName !== undefined) {
      if (typed.type === GZIP_TYPE_URL) {
        const gzip = readGzip(typed.obj);
        if (gzip !== undefined) library = { encoding: 'gzip', libraryName, libraryStat: 'gzip', gzip, brotli: null };
      } else {
        const brotli = readBrotli(typed.obj);
        if (brotli !== undefined) library = { encoding: 'br', libraryName, libraryStat: 'brotli', gzip: null, brotli };
      }
    }
    lib.done();
  }
  let minContentLength = 30;
  let contentTypes: readonly string[] = DEFAULT_CONTENT_TYPES;
  let disableOnEtag = false;
  let removeAcceptEncoding = false;
  let enabled: boolean | undefined = true;
  const respField = obj.field('response_direction_config');
  const resp = respField.object();
  if (resp !== undefined) {
    const commonField = resp.field('common_config');
    const common = commonField.object();
    if (common !== undefined) {
      minContentLength = uint32Value(common.field('min_content_length'), 0, UINT32_MAX, 30) ?? (ok = false, 30);
      const types = common.field('content_type').listOf((t) => t.nonEmptyString()?.toLowerCase());
      if (types === undefined) ok = false;
      else if (types.length > 0) contentTypes = Object.freeze(types);
      enabled = readFeatureFlag(common.field('enabled'));
      common.done();
    }
    disableOnEtag = resp.field('disable_on_etag_header').bool() ?? false;
    removeAcceptEncoding = resp.field('remove_accept_encoding_header').bool() ?? false;
    resp.done();
  } else if (!respField.missing) ok = false;
  const reqField = obj.field('request_direction_config');
  if (!reqField.missing) {
    reqField.problem('is not supported (this proxy compresses responses only)');
    ok = false;
  }
  obj.done();
  if (!ok || library === undefined || enabled === undefined) return undefined;
  return Object.freeze({ filterName, ...library, minContentLength, contentTypes, disableOnEtag, removeAcceptEncoding, enabled });
}
