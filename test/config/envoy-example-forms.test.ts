// Forms Envoy's own example configurations use, read as Envoy reads them:
// enum names in any case, disk and RTDS runtime layers (named, not read),
// no_traffic_* health check intervals, an endpoint's health_check_config on
// its own port.
import { describe, expect, it } from 'vitest';
import { parseParts, problemLines } from './bootstrap-text.js';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';
import { RouteTable } from '../../src/routing/route-table.js';

const C = 'static_resources.clusters[0]';

describe('Envoy example forms', () => {
  it('reads enum names whatever their case, as Envoy does (type: strict_dns, lb_policy: round_robin)', () => {
    const c = parseParts({ cluster: { type: 'strict_dns', lb_policy: 'least_request', dns_lookup_family: 'v4_only' } }).clusters[0]!;
    expect(c.type).toBe('STRICT_DNS');
    expect(c.lbPolicy).toBe('LEAST_REQUEST');
    expect(c.dns!.lookupFamily).toBe('V4_ONLY');
    expect(problemLines({ cluster: { lb_policy: 'fastest' } })[0]).toMatch(`${C}.lb_policy must be one of ROUND_ROBIN`);
  });

  it('accepts disk and RTDS runtime layers, naming them as not read, and keeps static keys', () => {
    const text = [
      'static_resources: {listeners: [], clusters: []}',
      'layered_runtime:',
      '  layers:',
      '  - {name: static_layer_0, static_layer: {overload: {global_downstream_max_connections: 100}, a: {b: 1}}}',
      '  - {name: disk_layer_0, disk_layer: {symlink_root: /srv/runtime/current, subdirectory: envoy}}',
      '  - {name: admin_layer, admin_layer: {}}',
    ].join('\n');
    expect(parseBootstrap(text, 'b.yaml').runtime).toEqual({ globalDownstreamMaxConnections: 100, ignoredKeys: ['a.b'], unreadLayers: ['disk_layer_0 (disk_layer)'] });
    const bad = 'static_resources: {listeners: [], clusters: []}\nlayered_runtime: {layers: [{name: x, static_layer: {overload: {global_downstream_max_connections: -1}}}]}\n';
    expect(() => parseBootstrap(bad, 'b.yaml')).toThrow(/layered_runtime sets overload\.global_downstream_max_connections to -1/);
  });

  it("accepts no_traffic_* health check intervals and a health_check_config on the endpoint's own port, refusing another port", () => {
    const hc = [{ timeout: '1s', interval: '2s', no_traffic_interval: '4s', no_traffic_healthy_interval: '4s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/' } }];
    const endpoints = (port: number) => [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9100 } }, health_check_config: { port_value: port } } }] }];
    expect(parseParts({ cluster: { health_checks: hc, load_assignment: { cluster_name: 'a', endpoints: endpoints(9100) } } }).clusters[0]!.healthCheck?.intervalMs).toBe(2000);
    expect(problemLines({ cluster: { load_assignment: { cluster_name: 'a', endpoints: endpoints(9200) } } })[0]).toMatch(
      'health_check_config.port_value is 9200, a port other than the endpoint\'s (9100); health checks on a separate port are not supported',
    );
  });

  it('reads the router with typed_config: {}, generate_request_id: true and a route decorator; refuses generate_request_id: false', () => {
    const text = (extraHcm: string) => [
      'static_resources:',
      '  listeners:',
      '  - address: {socket_address: {address: 127.0.0.1, port_value: 0}}',
      '    filter_chains:',
      '    - filters:',
      '      - name: envoy.filters.network.http_connection_manager',
      '        typed_config:',
      '          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      '          stat_prefix: in',
      `          ${extraHcm}`,
      '          http_filters: [{name: envoy.filters.http.router, typed_config: {}}]',
      '          route_config:',
      '            virtual_hosts:',
      '            - name: all',
      '              domains: ["*"]',
      '              routes:',
      '              - match: {prefix: /}',
      '                direct_response: {status: 200}',
      '                decorator: {operation: checkAvailability}',
      '  clusters: []',
    ].join('\n');
    expect(parseBootstrap(text('generate_request_id: true'), 'b.yaml').listeners).toHaveLength(1);
    expect(() => parseBootstrap(text('generate_request_id: false'), 'b.yaml')).toThrow(/generate_request_id false is not supported/);
  });

  it('match.grpc: {} takes only gRPC requests (content-type application/grpc or application/grpc+<codec>), as the grpc-bridge sandbox routes', () => {
    const config = parseParts({ route: { match: { prefix: '/', grpc: {} } } }).listeners[0]!.routeConfig;
    const table = RouteTable.compile(config);
    const matches = (contentType: string | null) => table.match({
      method: 'POST', path: '/kv.KV/Get', query: '', authority: 'grpc',
      headers: contentType === null ? [] : ['content-type', contentType],
    }) !== null;
    expect([matches('application/grpc'), matches('application/grpc+proto'), matches('application/json'), matches('application/grpc-web'), matches(null)])
      .toEqual([true, true, false, false, false]);
    expect(problemLines({ route: { match: { prefix: '/', grpc: { web: true } } } })[0]).toMatch(/match\.grpc\.web is not supported/);
  });

  it('connect_matcher: {} takes CONNECT only; a route\'s connect_config is read on CONNECT alone, its fields not supported', () => {
    const config = parseParts({ route: { match: { connect_matcher: {} } } }).listeners[0]!.routeConfig;
    const table = RouteTable.compile(config);
    const matches = (method: string) => table.match({ method, path: '', query: '', authority: 'db.internal:5432', headers: [] }) !== null;
    expect([matches('CONNECT'), matches('GET')]).toEqual([true, false]);
    const upgrade = (u: Record<string, unknown>) => problemLines({ action: { upgrade_configs: [u] } });
    expect(parseParts({ action: { upgrade_configs: [{ upgrade_type: 'CONNECT', connect_config: {} }] } }).listeners).toHaveLength(1);
    expect(upgrade({ upgrade_type: 'websocket', connect_config: {} })[0]).toMatch(/connect_config applies to upgrade_type CONNECT, not "websocket"/);
    expect(upgrade({ upgrade_type: 'CONNECT', connect_config: { allow_post: true } })[0]).toMatch(/connect_config\.allow_post is not supported/);
  });

  it('says when a typed_config is an Envoy v2 API type', () => {
    const text = [
      'static_resources:',
      '  listeners:',
      '  - address: {socket_address: {address: 127.0.0.1, port_value: 0}}',
      '    filter_chains:',
      '    - filters:',
      '      - name: envoy.filters.network.http_connection_manager',
      '        typed_config:',
      '          "@type": type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager',
      '          stat_prefix: in',
      '  clusters: []',
    ].join('\n');
    expect(() => parseBootstrap(text, 'b.yaml')).toThrow(/that is an Envoy v2 API type, which Envoy no longer reads \(use the v3 type\)/);
  });

  it('reads one message where a list belongs as a list of one (tls_certificates, lb_endpoints), as protobuf JSON does', () => {
    const c = parseParts({ cluster: { load_assignment: { cluster_name: 'a', endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 9300 } } } } } } } }).clusters[0]!;
    expect(c.endpoints.map((e) => e.port)).toEqual([9300]);
    expect(problemLines({ cluster: { load_assignment: { cluster_name: 'a', endpoints: 'x' } } })[0]).toMatch(`${C}.load_assignment.endpoints must be a list`);
  });
});
