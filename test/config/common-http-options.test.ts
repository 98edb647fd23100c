// A cluster's common_http_protocol_options and the deprecated cluster-level
// max_requests_per_connection as the config reader takes them: Envoy's
// defaults, both limits set at once refused, bad values named by field.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../src/config/config-error.js';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';

const OPTIONS_NAME = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const OPTIONS_TYPE = `type.googleapis.com/${OPTIONS_NAME}`;

function bootstrap(clusterExtra: Record<string, unknown>): string {
  return stringify({
    static_resources: {
      clusters: [{
        name: 'c',
        ...clusterExtra,
        load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } }] }] },
      }],
    },
  });
}

const withCommon = (common: unknown, extra: Record<string, unknown> = {}): string => bootstrap({
  typed_extension_protocol_options: { [OPTIONS_NAME]: { '@type': OPTIONS_TYPE, explicit_http_config: { http_protocol_options: {} }, common_http_protocol_options: common } },
  ...extra,
});

function problems(text: string): string[] {
  try {
    parseBootstrap(text, 'b.yaml');
  } catch (err) {
    return (err as ConfigError).problems.map((p) => p.message);
  }
  return [];
}

describe('common_http_protocol_options of a cluster', () => {
  it("defaults to Envoy's: idle_timeout 1h, no request limit", () => {
    const c = parseBootstrap(bootstrap({}), 'b.yaml').clusters[0]!;
    expect(c.upstreamIdleTimeoutMs).toBe(3_600_000);
    expect(c.maxRequestsPerConnection).toBe(0);
  });

  it('reads idle_timeout (0s: never) and max_requests_per_connection, or the deprecated cluster field', () => {
    const c = parseBootstrap(withCommon({ idle_timeout: '2.5s', max_requests_per_connection: 7 }), 'b.yaml').clusters[0]!;
    expect([c.upstreamIdleTimeoutMs, c.maxRequestsPerConnection, c.upstreamProtocol]).toEqual([2500, 7, 'HTTP1']);
    expect(parseBootstrap(withCommon({ idle_timeout: '0s' }), 'b.yaml').clusters[0]!.upstreamIdleTimeoutMs).toBe(0);
    expect(parseBootstrap(bootstrap({ max_requests_per_connection: 3 }), 'b.yaml').clusters[0]!.maxRequestsPerConnection).toBe(3);
    // With HTTP/2 upstream the common options ride along.
    const h2 = parseBootstrap(bootstrap({ typed_extension_protocol_options: { [OPTIONS_NAME]: {
      '@type': OPTIONS_TYPE, explicit_http_config: { http2_protocol_options: {} }, common_http_protocol_options: { idle_timeout: '3s' },
    } } }), 'b.yaml').clusters[0]!;
    expect([h2.upstreamProtocol, h2.upstreamIdleTimeoutMs]).toEqual(['HTTP2', 3000]);
  });

  it('refuses both limits at once, bad values, and fields it does not apply, naming the field', () => {
    expect(problems(withCommon({ max_requests_per_connection: 2 }, { max_requests_per_connection: 3 }))).toEqual([
      expect.stringMatching(/max_requests_per_connection and typed_extension_protocol_options common_http_protocol_options\.max_requests_per_connection are both set/),
    ]);
    expect(problems(withCommon({ max_requests_per_connection: -1 }))).toEqual([
      expect.stringMatching(/common_http_protocol_options\.max_requests_per_connection must be between 0 and 4294967295$/),
    ]);
    expect(problems(withCommon({ idle_timeout: 'soon' }))).toEqual([expect.stringMatching(/common_http_protocol_options\.idle_timeout must be a duration/)]);
    expect(problems(withCommon({ max_stream_duration: '1s' }))).toEqual([expect.stringMatching(/common_http_protocol_options\.max_stream_duration/)]);
  });
});
