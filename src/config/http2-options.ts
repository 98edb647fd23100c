// config.core.v3.Http2ProtocolOptions (the fields the proxy enforces), the
// HCM's codec_type, and a cluster's upstreams.http.v3.HttpProtocolOptions
// (which protocol it speaks upstream). Envoy's defaults filled in.
import type { ObjectReader, ValueReader } from './yaml-reader.js';
import { readTypedConfig } from './typed-config.js';
import { DEFAULT_COMMON_HTTP_OPTIONS, readCommonHttpOptions, type CommonHttpOptions } from './common-http-options.js';

export interface Http2Options {
  /** max_concurrent_streams; Envoy default 2147483647 (we cap what we advertise at this). */
  readonly maxConcurrentStreams: number;
  /** initial_stream_window_size; Envoy default 256 MiB, bounded here to 16 MiB by default (bounded buffering). */
  readonly initialStreamWindowSize: number;
  /** initial_connection_window_size; default as the stream's. */
  readonly initialConnectionWindowSize: number;
  /** max_outbound_frames: frames queued to a peer that does not read before the session is ended (default 10000). */
  readonly maxOutboundFrames: number;
  /** max_outbound_control_frames (PING/SETTINGS/RST acks queued): default 1000. */
  readonly maxOutboundControlFrames: number;
  /** The largest header list accepted (HCM max_request_headers_kb, default 60 KiB). */
  readonly maxHeaderListSize: number;
}

export const DEFAULT_HTTP2_OPTIONS: Http2Options = Object.freeze({
  maxConcurrentStreams: 2147483647,
  initialStreamWindowSize: 1024 * 1024,
  initialConnectionWindowSize: 16 * 1024 * 1024,
  maxOutboundFrames: 10000,
  maxOutboundControlFrames: 1000,
  maxHeaderListSize: 60 * 1024,
});

export type CodecType = 'AUTO' | 'HTTP1' | 'HTTP2';
/** Which protocol a cluster speaks to its endpoints. */
export type UpstreamProtocol = 'HTTP1' | 'HTTP2' | 'DOWNSTREAM';

export const HTTP_PROTOCOL_OPTIONS_NAME = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
export const HTTP_PROTOCOL_OPTIONS_TYPE_URL = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

/** Http2ProtocolOptions; undefined after a problem was reported. `maxHeaderListSize` comes from the caller (HCM). */
export function readHttp2Options(v: ValueReader, maxHeaderListSize = DEFAULT_HTTP2_OPTIONS.maxHeaderListSize): Http2Options | undefined {
  if (v.missing) return { ...DEFAULT_HTTP2_OPTIONS, maxHeaderListSize };
  const obj = v.object();
  if (obj === undefined) return undefined;
  const d = DEFAULT_HTTP2_OPTIONS;
  // Envoy's bounds (protocol.proto): streams >= 1, windows 65535 .. 2^31-1.
  const maxConcurrentStreams = obj.field('max_concurrent_streams').integer(1, 2147483647) ?? d.maxConcurrentStreams;
  const initialStreamWindowSize = obj.field('initial_stream_window_size').integer(65535, 2147483647) ?? d.initialStreamWindowSize;
  const initialConnectionWindowSize = obj.field('initial_connection_window_size').integer(65535, 2147483647) ?? d.initialConnectionWindowSize;
  const maxOutboundFrames = obj.field('max_outbound_frames').integer(1, 4294967295) ?? d.maxOutboundFrames;
  const maxOutboundControlFrames = obj.field('max_outbound_control_frames').integer(1, 4294967295) ?? d.maxOutboundControlFrames;
  // Accepted as Envoy has them; nghttp2's own limits cover these floods.
  obj.field('max_consecutive_inbound_frames_with_empty_payload').integer(0, 4294967295);
  obj.field('max_inbound_priority_frames_per_stream').integer(0, 4294967295);
  obj.field('max_inbound_window_update_frames_per_data_frame_sent').integer(1, 4294967295);
  obj.field('allow_connect').bool();
  obj.field('hpack_table_size').integer(0, 4294967295);
  obj.done();
  return { maxConcurrentStreams, initialStreamWindowSize, initialConnectionWindowSize, maxOutboundFrames, maxOutboundControlFrames, maxHeaderListSize };
}

/** HCM: codec_type, http2_protocol_options and max_request_headers_kb. */
export function readHcmCodec(obj: ObjectReader): { codecType: CodecType; http2: Http2Options } | undefined {
  const codecType = obj.field('codec_type').enumOf(['AUTO', 'HTTP1', 'HTTP2'] as const) ?? 'AUTO';
  const kb = obj.field('max_request_headers_kb').integer(1, 8192) ?? 60;
  const http2 = readHttp2Options(obj.field('http2_protocol_options'), kb * 1024);
  return http2 === undefined ? undefined : { codecType, http2 };
}

export interface ClusterProtocolOptions {
  readonly protocol: UpstreamProtocol;
  readonly http2: Http2Options;
  /** common_http_protocol_options: idle_timeout and max_requests_per_connection. */
  readonly common: CommonHttpOptions;
}

/** Cluster typed_extension_protocol_options: which protocol upstream, its HTTP/2 options, and the common ones. */
export function readClusterProtocolOptions(v: ValueReader): ClusterProtocolOptions | undefined {
  const fallback: ClusterProtocolOptions = { protocol: 'HTTP1', http2: DEFAULT_HTTP2_OPTIONS, common: DEFAULT_COMMON_HTTP_OPTIONS };
  if (v.missing) return fallback;
  const map = v.object();
  if (map === undefined) return undefined;
  let result: ClusterProtocolOptions | undefined = fallback;
  for (const key of map.keys()) {
    const field = map.field(key);
    if (key !== HTTP_PROTOCOL_OPTIONS_NAME) {
      field.problem(`is not supported; the only protocol options are ${HTTP_PROTOCOL_OPTIONS_NAME}`);
      result = undefined;
      continue;
    }
    const obj = readTypedConfig(field, HTTP_PROTOCOL_OPTIONS_TYPE_URL);
    if (obj === undefined) return undefined;
    const which = obj.oneOf(['explicit_http_config', 'use_downstream_protocol_config', 'auto_config'], true);
    if (which === null) return undefined;
    const common = readCommonHttpOptions(obj.field('common_http_protocol_options'));
    if (common === undefined) return undefined;
    if (which === 'auto_config') {
      obj.field('auto_config').problem('is not supported (needs ALPN to upstreams); use explicit_http_config');
      result = undefined;
    } else if (which === 'explicit_http_config') {
      const e = obj.field('explicit_http_config').object();
      if (e === undefined) return undefined;
      const kind = e.oneOf(['http_protocol_options', 'http2_protocol_options', 'http3_protocol_options'], true);
      if (kind === 'http3_protocol_options') {
        e.field(kind).problem('is not supported (no HTTP/3)');
        result = undefined;
      } else if (kind === 'http2_protocol_options') {
        const http2 = readHttp2Options(e.field(kind));
        result = http2 === undefined ? undefined : { protocol: 'HTTP2', http2, common };
      } else if (kind === 'http_protocol_options') {
        e.field(kind).object()?.done();
        result = { ...fallback, common };
      }
      e.done();
    } else if (which === 'use_downstream_protocol_config') {
      const u = obj.field('use_downstream_protocol_config').object();
      if (u === undefined) return undefined;
      u.field('http_protocol_options').object()?.done();
      const h2Field = u.field('http2_protocol_options');
      const http2 = readHttp2Options(h2Field);
      u.field('http3_protocol_options');
      u.done();
      result = http2 === undefined ? undefined : { protocol: 'DOWNSTREAM', http2, common };
    }
    obj.done();
  }
  map.done();
  return result;
}
