// codec_type, http2_protocol_options and a cluster's HttpProtocolOptions as
// the config reader takes them: Envoy's defaults, and bad values named with
// their field.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../src/config/config-error.js';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';

const OPTIONS_NAME = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const OPTIONS_TYPE = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function bootstrap(hcmExtra: Record<string, unknown>, clusterExtra: Record<string, unknown>): string {
  return stringify({
    static_resources: {
      listeners: [{
        name: 'l',
        address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
          stat_prefix: 'l',
          route_config: { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] }] },
          ...hcmExtra,
        } }] }],
      }],
      clusters: [{
        name: 'c',
        ...clusterExtra,
        load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }] },
      }],
    },
  });
}

function problems(text: string): string[] {
  try {
    parseBootstrap(text, 'b.yaml');
  } catch (err) {
    return (err as ConfigError).problems.map((p) => p.message);
  }
  return [];
}

describe('HTTP/2 config', () => {
  it('defaults: AUTO codec, HTTP/1.1 upstream', () => {
    const b = parseBootstrap(bootstrap({}, {}), 'b.yaml');
    expect(b.listeners[0]!.codecType).toBe('AUTO');
    expect(b.listeners[0]!.http2.maxHeaderListSize).toBe(60 * 1024);
    expect(b.clusters[0]!.upstreamProtocol).toBe('HTTP1');
  });

  it('reads codec_type HTTP2, http2_protocol_options and max_request_headers_kb', () => {
    const b = parseBootstrap(bootstrap({ codec_type: 'HTTP2', max_request_headers_kb: 16, http2_protocol_options: { max_concurrent_streams: 7, initial_stream_window_size: 70000 } }, {}), 'b.yaml');
    const l = b.listeners[0]!;
    expect(l.codecType).toBe('HTTP2');
    expect(l.http2.maxConcurrentStreams).toBe(7);
    expect(l.http2.initialStreamWindowSize).toBe(70000);
    expect(l.http2.maxHeaderListSize).toBe(16 * 1024);
  });

  it('reads explicit_http_config http2_protocol_options and use_downstream_protocol_config', () => {
    const explicit = parseBootstrap(bootstrap({}, { typed_extension_protocol_options: { [OPTIONS_NAME]: { '@type': OPTIONS_TYPE, explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 3 } } } } }), 'b.yaml');
    expect(explicit.clusters[0]!.upstreamProtocol).toBe('HTTP2');
    expect(explicit.clusters[0]!.upstreamHttp2!.maxConcurrentStreams).toBe(3);
    const downstream = parseBootstrap(bootstrap({}, { typed_extension_protocol_options: { [OPTIONS_NAME]: { '@type': OPTIONS_TYPE, use_downstream_protocol_config: {} } } }), 'b.yaml');
    expect(downstream.clusters[0]!.upstreamProtocol).toBe('DOWNSTREAM');
  });

  it('names bad fields', () => {
    expect(problems(bootstrap({ http2_protocol_options: { initial_stream_window_size: 10 } }, {}))).toEqual([
      expect.stringMatching(/http2_protocol_options\.initial_stream_window_size must be between 65535 and 2147483647$/),
    ]);
    expect(problems(bootstrap({}, { typed_extension_protocol_options: { 'envoy.other': {} } }))).toEqual([
      expect.stringContaining(`is not supported; the only protocol options are ${OPTIONS_NAME}`),
    ]);
    expect(problems(bootstrap({}, { typed_extension_protocol_options: { [OPTIONS_NAME]: { '@type': OPTIONS_TYPE, explicit_http_config: { http3_protocol_options: {} } } } }))).toEqual([
      expect.stringContaining('http3_protocol_options is not supported'),
    ]);
  });
});

describe('scheme_header_transformation', () => {
  it('takes scheme_to_overwrite http or https, or match_upstream, and names a bad value', () => {
    expect(problems(bootstrap({ scheme_header_transformation: { scheme_to_overwrite: 'https' } }, {}))).toEqual([]);
    expect(problems(bootstrap({ scheme_header_transformation: { match_upstream: true } }, {}))).toEqual([]);
    expect(problems(bootstrap({ scheme_header_transformation: { scheme_to_overwrite: 'ftp' } }, {}))).toEqual([
      expect.stringMatching(/scheme_header_transformation\.scheme_to_overwrite must be "http" or "https" \(got "ftp"\)$/),
    ]);
    expect(problems(bootstrap({ scheme_header_transformation: { scheme_to_overwrite: 'https', match_upstream: true } }, {}))).toEqual([
      expect.stringMatching(/scheme_header_transformation sets both scheme_to_overwrite and match_upstream/),
    ]);
  });
});

