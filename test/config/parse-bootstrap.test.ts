import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Bootstrap } from '../../src/config/bootstrap-types.js';
import { ConfigError, type ConfigProblem } from '../../src/config/config-error.js';
import { loadBootstrapFile, parseBootstrap } from '../../src/config/parse-bootstrap.js';
import { DEFAULT_HTTP2_OPTIONS } from '../../src/config/http2-options.js';
import {
  expectedCluster, expectedEndpoint, NO_FILTER_CONFIG, NO_HASH_OR_MIRROR, RETRY_HOST_DEFAULTS, ROUTER_ONLY,
} from '../support/bootstrap-defaults.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

const VALID = `
node: { id: sidecar-1, cluster: demo, metadata: { version: "1" } }
admin:
  address:
    socket_address: { address: 127.0.0.1, port_value: 15000 }
static_resources:
  listeners:
    - name: outbound
      address:
        socket_address: { address: 127.0.0.1, port_value: 15001 }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": ${HCM}
                stat_prefix: out
                codec_type: HTTP1
                stream_idle_timeout: 60s
                request_headers_timeout: { seconds: 2, nanos: 500000000 }
                normalize_path: true
                merge_slashes: true
                path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT
                http_filters:
                  - name: envoy.filters.http.router
                route_config:
                  name: rc
                  request_headers_to_add:
                    - header: { key: X-RC, value: rc }
                      append: false
                  response_headers_to_remove: [X-Powered-By]
                  virtual_hosts:
                    - name: web
                      domains: [Web.Example.com, "*.example.com", "api.*", "*"]
                      response_headers_to_add:
                        - header: { key: x-vh, value: "100%%" }
                          append_action: APPEND_IF_EXISTS_OR_ADD
                      routes:
                        - name: split
                          match:
                            prefix: /api
                            case_sensitive: false
                            headers:
                              - { name: X-Env, exact_match: prod }
                              - { name: x-debug, present_match: true, invert_match: true }
                              - name: user-agent
                                string_match: { prefix: curl, ignore_case: true }
                              - name: x-re
                                safe_regex_match: { regex: "[a-z]+" }
                            query_parameters:
                              - name: v
                                string_match: { exact: "2" }
                              - { name: flag, present_match: true }
                          route:
                            weighted_clusters:
                              total_weight: 100
                              clusters:
                                - { name: a, weight: 75 }
                                - { name: b, weight: 25 }
                            timeout: 1.5s
                            retry_policy:
                              retry_on: "5xx, reset,retriable-status-codes"
                              num_retries: 3
                              per_try_timeout: 0.250s
                              retry_back_off: { base_interval: 0.1s }
                              retriable_status_codes: [503, 429]
                            prefix_rewrite: /v2
                            host_rewrite_literal: upstream.local
                          request_headers_to_remove: [x-internal]
                        - match: { path: /old }
                          redirect:
                            https_redirect: true
                            host_redirect: new.example.com
                            port_redirect: 8443
                            path_redirect: /new
                            response_code: FOUND
                            strip_query: true
                        - match:
                            safe_regex: { regex: "/static/.*", google_re2: {} }
                          direct_response:
                            status: 204
                        - match: { prefix: / }
                          route: { cluster: a, timeout: 0s }
  clusters:
    - name: a
      connect_timeout: 0.25s
      load_assignment:
        cluster_name: a
        endpoints:
          - lb_endpoints:
              - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 9001 } } }
              - endpoint: { address: { socket_address: { address: "::1", port_value: 9002 } } }
                load_balancing_weight: 3
    - name: b
      type: STATIC
      lb_policy: RANDOM
      load_assignment:
        cluster_name: b
        endpoints: []
`;

const NO_MUTATION = { requestHeadersToAdd: [], requestHeadersToRemove: [], responseHeadersToAdd: [], responseHeadersToRemove: [] };

const EXPECTED_WITHOUT_CHAINS = {
  admin: { address: '127.0.0.1', port: 15000 },
  listeners: [{
    name: 'outbound',
    address: { address: '127.0.0.1', port: 15001 },
    statPrefix: 'out',
    streamIdleTimeoutMs: 60_000,
    requestHeadersTimeoutMs: 2_500,
    httpFilters: ROUTER_ONLY,
    pathNormalization: { normalizePath: true, mergeSlashes: true, escapedSlashes: 'UNESCAPE_AND_REDIRECT' },
    codecType: 'HTTP1',
    http2: DEFAULT_HTTP2_OPTIONS,
    accessLogs: [],
    forwarding: { useRemoteAddress: false, xffNumTrustedHops: 0, skipXffAppend: false },
    localReply: null,
    upgrades: [],
    clientCertDetails: { mode: 'SANITIZE', subject: false, cert: false, chain: false, dns: false, uri: false },
    scheme: { overwrite: '', matchUpstream: false },
    routeConfig: {
      name: 'rc',
      requestHeadersToAdd: [{ key: 'x-rc', value: 'rc', append: false }],
      requestHeadersToRemove: [],
      responseHeadersToAdd: [],
      responseHeadersToRemove: ['x-powered-by'],
      virtualHosts: [{
        name: 'web',
        domains: ['web.example.com', '*.example.com', 'api.*', '*'],
        ...NO_MUTATION,
        ...NO_FILTER_CONFIG,
        responseHeadersToAdd: [{ key: 'x-vh', value: '100%', append: true }],
        routes: [
          {
            name: 'split',
            match: {
              kind: 'prefix', value: '/api', caseSensitive: false,
              headers: [
                { name: 'x-env', match: { kind: 'exact', value: 'prod', ignoreCase: false }, present: true, invert: false },
                { name: 'x-debug', match: null, present: true, invert: true },
                { name: 'user-agent', match: { kind: 'prefix', value: 'curl', ignoreCase: true }, present: true, invert: false },
                { name: 'x-re', match: { kind: 'regex', value: '[a-z]+', ignoreCase: false }, present: true, invert: false },
              ],
              queryParameters: [
                { name: 'v', match: { kind: 'exact', value: '2', ignoreCase: false } },
                { name: 'flag', match: null },
              ],
            },
            action: {
              type: 'route',
              clusters: [{ name: 'a', weight: 75 }, { name: 'b', weight: 25 }],
              totalWeight: 100,
              timeoutMs: 1_500,
              retryPolicy: {
                retryOn: ['5xx', 'reset', 'retriable-status-codes'],
                numRetries: 3,
                perTryTimeoutMs: 250,
                backOffBaseMs: 100,
                backOffMaxMs: 1_000,
                retriableStatusCodes: [503, 429],
                ...RETRY_HOST_DEFAULTS,
              },
              prefixRewrite: '/v2',
              hostRewriteLiteral: 'upstream.local',
              ...NO_HASH_OR_MIRROR,
            },
            ...NO_MUTATION,
            ...NO_FILTER_CONFIG,
            requestHeadersToRemove: ['x-internal'],
          },
          {
            name: '',
            match: { kind: 'path', value: '/old', caseSensitive: true, headers: [], queryParameters: [] },
            action: {
              type: 'redirect', schemeRedirect: 'https', hostRedirect: 'new.example.com', portRedirect: 8443,
              pathRedirect: '/new', prefixRewrite: null, responseCode: 302, stripQuery: true,
            },
            ...NO_MUTATION,
            ...NO_FILTER_CONFIG,
          },
          {
            name: '',
            match: { kind: 'safe_regex', value: '/static/.*', caseSensitive: true, headers: [], queryParameters: [] },
            action: { type: 'direct_response', status: 204, body: null },
            ...NO_MUTATION,
            ...NO_FILTER_CONFIG,
          },
          {
            name: '',
            match: { kind: 'prefix', value: '/', caseSensitive: true, headers: [], queryParameters: [] },
            action: {
              type: 'route', clusters: [{ name: 'a', weight: 1 }], totalWeight: 1, timeoutMs: 0,
              retryPolicy: null, prefixRewrite: null, hostRewriteLiteral: null, ...NO_HASH_OR_MIRROR,
            },
            ...NO_MUTATION,
            ...NO_FILTER_CONFIG,
          },
        ],
      }],
    },
  }],
  clusters: [
    expectedCluster({ name: 'a', connectTimeoutMs: 250, endpoints: [expectedEndpoint('127.0.0.1', 9001), expectedEndpoint('::1', 9002, 3)] }),
    expectedCluster({ name: 'b', lbPolicy: 'RANDOM', endpoints: [] }),
  ],
} as unknown as Bootstrap;

/** Each listener's one filter chain: no match, no TLS, the listener's own HCM fields. */
const EXPECTED: Bootstrap = {
  ...EXPECTED_WITHOUT_CHAINS,
  listeners: EXPECTED_WITHOUT_CHAINS.listeners.map((l) => ({
    ...l,
    tlsInspector: false,
    httpInspector: false,
    listenerFiltersTimeoutMs: 15_000,
    continueOnListenerFiltersTimeout: false,
    filterChains: [{
      match: { serverNames: [], transportProtocol: '', applicationProtocols: [] },
      tls: null,
      hcm: { statPrefix: l.statPrefix, routeConfig: l.routeConfig, streamIdleTimeoutMs: l.streamIdleTimeoutMs, requestHeadersTimeoutMs: l.requestHeadersTimeoutMs, httpFilters: l.httpFilters, pathNormalization: l.pathNormalization, codecType: l.codecType, http2: l.http2, accessLogs: l.accessLogs, forwarding: l.forwarding, localReply: l.localReply, upgrades: l.upgrades, clientCertDetails: l.clientCertDetails, scheme: l.scheme },
      tcpProxy: null,
    }],
  })),
};

/** 1-based line of the first occurrence of `marker` in text (after `after`, when given). */
function lineOf(text: string, marker: string, after = ''): number {
  const from = after === '' ? 0 : text.indexOf(after);
  const at = text.indexOf(marker, from);
  if (at === -1) throw new Error(`marker not found: ${marker}`);
  return text.slice(0, at).split('\n').length;
}

function problemsOf(text: string, file = 'bootstrap.yaml'): readonly ConfigProblem[] {
  try {
    parseBootstrap(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

/** Replaces exactly one occurrence of `from` (so a typo in a test fails loudly). */
function edit(text: string, from: string, to: string): string {
  expect(text.split(from).length - 1).toBe(1);
  return text.replace(from, to);
}

describe('parseBootstrap: valid input', () => {
  it('turns a full YAML bootstrap into the typed object with Envoy defaults', () => {
    expect(parseBootstrap(VALID, 'bootstrap.yaml')).toEqual(EXPECTED);
  });

  it('reads the same bootstrap written as JSON', () => {
    const json = JSON.stringify(parseYaml(VALID), null, 2);
    expect(json.startsWith('{')).toBe(true);
    expect(parseBootstrap(json, 'bootstrap.json')).toEqual(EXPECTED);
  });

  it("accepts Istio's default retry_on, whose HTTP/2 and gRPC conditions never fire on HTTP/1.1", () => {
    const istio = edit(
      VALID,
      'retry_on: "5xx, reset,retriable-status-codes"',
      'retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"',
    );
    const b = parseBootstrap(istio, 'bootstrap.yaml');
    const action = b.listeners[0]!.routeConfig.virtualHosts[0]!.routes[0]!.action;
    expect(action.type === 'route' && action.retryPolicy?.retryOn).toEqual([
      'connect-failure', 'refused-stream', 'unavailable', 'cancelled', 'retriable-status-codes',
    ]);
  });

  it('returns a deeply frozen object', () => {
    const b = parseBootstrap(VALID, 'bootstrap.yaml');
    const route = b.listeners[0]!.routeConfig.virtualHosts[0]!.routes[0]!;
    expect(Object.isFrozen(b)).toBe(true);
    expect(Object.isFrozen(route.match.headers[0])).toBe(true);
    expect(Object.isFrozen(b.clusters[0]!.endpoints)).toBe(true);
    expect(() => { (b.clusters as Cluster[]).push(b.clusters[0]!); }).toThrow(TypeError);
  });

  it('resolves YAML anchors and aliases', () => {
    const text = edit(VALID, 'cluster_name: a\n', 'cluster_name: &cn a\n').replace('cluster_name: b', 'cluster_name: *cn');
    expect(parseBootstrap(text, 'b.yaml').clusters).toEqual(EXPECTED.clusters);
  });
});

type Cluster = Bootstrap['clusters'][number];

describe('parseBootstrap: problems name file, line and path', () => {
  it('an unknown field nested deep', () => {
    const text = edit(VALID, "      type: STATIC\n", "      type: STATIC\n      lrs_server: {}\n");
    const problems = problemsOf(text);
    expect(problems).toEqual([{
      file: 'bootstrap.yaml',
      line: lineOf(text, 'lrs_server'),
      path: 'static_resources.clusters[1].lrs_server',
      message: 'static_resources.clusters[1].lrs_server is not supported',
    }]);
  });

  it('formats the error message one problem per line', () => {
    const text = edit(VALID, '                          route: { cluster: a, timeout: 0s }',
      '                          route: { cluster: a, timeout: 0s, cluster_header: x }');
    try {
      parseBootstrap(text, 'bootstrap.yaml');
      expect.unreachable();
    } catch (err) {
      const line = lineOf(text, 'cluster_header');
      expect((err as Error).message).toContain(
        // The long path is shown from its nearest named object.
        `bootstrap.yaml:${line}: virtual host "web" › routes[3].route.cluster_header is not supported`,
      );
    }
  });

  it('a wrong type', () => {
    const text = edit(VALID, 'port_value: 9001', 'port_value: nine');
    const [p] = problemsOf(text);
    expect(p).toMatchObject({
      line: lineOf(text, 'nine'),
      path: 'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
    });
    expect(p!.message).toMatch(/port_value must be an integer$/);
    const text2 = edit(VALID, 'stat_prefix: out', 'stat_prefix: [out]');
    expect(problemsOf(text2)[0]!.message).toMatch(/typed_config\.stat_prefix must be a string$/);
  });

  it('a route naming a cluster that does not exist', () => {
    const text = edit(VALID, '{ name: b, weight: 25 }', '{ name: c, weight: 25 }');
    const [p] = problemsOf(text);
    expect(p!.line).toBe(lineOf(text, 'name: c'));
    expect(p!.path).toMatch(/routes\[0\]\.route\.weighted_clusters\.clusters\[1\]\.name$/);
    expect(p!.message).toContain('names cluster "c", which is not defined in static_resources.clusters');
  });

  it('a bad regex and an RE2-incompatible regex', () => {
    const bad = edit(VALID, 'regex: "[a-z]+"', 'regex: "[a-z"');
    const [p] = problemsOf(bad);
    expect(p!.line).toBe(lineOf(bad, '"[a-z"'));
    expect(p!.path).toMatch(/headers\[3\]\.safe_regex_match\.regex$/);
    expect(p!.message).toContain('is not a valid regular expression');
    const lookahead = edit(VALID, 'regex: "/static/.*"', 'regex: "/static/(?!private).*"');
    expect(problemsOf(lookahead)[0]!.message).toMatch(/routes\[2\]\.match\.safe_regex\.regex uses a lookaround assertion/);
    const backref = edit(VALID, 'regex: "[a-z]+"', 'regex: "([a-z])\\\\1"');
    expect(problemsOf(backref)[0]!.message).toContain('backreference');
  });

  it("a regex over RE2's program size limit: Envoy's 100 by default, google_re2.max_program_size when set", () => {
    const big = edit(VALID, 'regex: "/static/.*"', 'regex: "/static/[a-z]{200}"');
    const [p] = problemsOf(big);
    expect(p!.line).toBe(lineOf(big, '[a-z]{200}'));
    expect(p!.path).toMatch(/routes\[2\]\.match\.safe_regex\.regex$/);
    expect(p!.message).toMatch(/compiles to an RE2 program of size \d+, over the limit of 100/);
    const raised = edit(VALID, 'regex: "/static/.*", google_re2: {}', 'regex: "/static/[a-z]{200}", google_re2: { max_program_size: 1000 }');
    expect(() => parseBootstrap(raised, 'bootstrap.yaml')).not.toThrow();
    const zero = edit(VALID, 'google_re2: {}', 'google_re2: { max_program_size: 0 }');
    expect(problemsOf(zero)[0]!.path).toMatch(/safe_regex\.google_re2\.max_program_size$/);
    // RE2 syntax JavaScript reads differently: a POSIX class.
    expect(() => parseBootstrap(edit(VALID, 'regex: "[a-z]+"', 'regex: "[[:alpha:]]+"'), 'bootstrap.yaml')).not.toThrow();
    expect(problemsOf(edit(VALID, 'regex: "[a-z]+"', 'regex: "a{1001}"'))[0]!.message).toMatch(/invalid repeat count/);
  });

  it('path normalization fields of the wrong type or value', () => {
    const action = edit(VALID, 'path_with_escaped_slashes_action: UNESCAPE_AND_REDIRECT', 'path_with_escaped_slashes_action: DECODE');
    const [p] = problemsOf(action);
    expect(p!.line).toBe(lineOf(action, 'DECODE'));
    expect(p!.message).toMatch(/typed_config\.path_with_escaped_slashes_action must be one of IMPLEMENTATION_SPECIFIC_DEFAULT, KEEP_UNCHANGED/);
    const normalize = edit(VALID, 'normalize_path: true', 'normalize_path: yes please');
    expect(problemsOf(normalize)[0]!.message).toMatch(/typed_config\.normalize_path must be a boolean/);
  });

  it('a bad duration', () => {
    const text = edit(VALID, 'timeout: 1.5s', 'timeout: 1.5 seconds');
    const [p] = problemsOf(text);
    expect(p!.line).toBe(lineOf(text, '1.5 seconds'));
    expect(p!.path).toMatch(/routes\[0\]\.route\.timeout$/);
    expect(p!.message).toContain('must be a duration like "1.5s"');
    const ms = edit(VALID, 'connect_timeout: 0.25s', 'connect_timeout: 250ms');
    expect(problemsOf(ms)[0]!.path).toBe('static_resources.clusters[0].connect_timeout');
  });

  it('a port out of range', () => {
    const text = edit(VALID, 'port_value: 15001', 'port_value: 70000');
    const [p] = problemsOf(text);
    expect(p).toMatchObject({ line: lineOf(text, '70000'), path: 'static_resources.listeners[0].address.socket_address.port_value' });
    expect(p!.message).toContain('must be between 0 and 65535');
  });

  it('a DNS name where an IP address is required', () => {
    const text = edit(VALID, 'address: 127.0.0.1, port_value: 9001', 'address: reviews.local, port_value: 9001');
    const [p] = problemsOf(text);
    expect(p!.line).toBe(lineOf(text, 'reviews.local'));
    expect(p!.message).toMatch(/socket_address\.address must be an IP address literal \(no DNS names\): "reviews\.local"; a DNS name needs cluster type STRICT_DNS or LOGICAL_DNS$/);
  });

  it('duplicate listener and cluster names', () => {
    const text = edit(VALID, '    - name: b\n      type: STATIC', '    - name: a\n      type: STATIC');
    const problems = problemsOf(text);
    expect(problems.map((p) => p.message)).toContain('static_resources.clusters[1] repeats cluster name "a"');
    expect(problems.find((p) => p.path === 'static_resources.clusters[1]')!.line).toBe(lineOf(text, 'name: a', '    - name: a\n      type: STATIC'));
    const listenersYaml = parseYaml(VALID);
    listenersYaml.static_resources.listeners.push({ ...listenersYaml.static_resources.listeners[0] });
    listenersYaml.static_resources.listeners[1].address = { socket_address: { address: '127.0.0.1', port_value: 15002 } };
    const messages = problemsOf(JSON.stringify(listenersYaml, null, 1), 'b.json').map((p) => p.message);
    expect(messages).toEqual(['static_resources.listeners[1] repeats listener name "outbound"']);
  });

  it('conflicting domains across virtual hosts', () => {
    const text = edit(VALID, '                  virtual_hosts:\n', `                  virtual_hosts:
                    - name: other
                      domains: [other.test, WEB.example.com]
                      routes: []
`);
    const problems = problemsOf(text);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.line).toBe(lineOf(text, 'Web.Example.com'));
    expect(problems[0]!.message).toMatch(
      /^virtual host "web" › domains\[0\] "web\.example\.com" is already a domain of virtual host "other"; a domain may belong to only one virtual host$/,
    );
  });

  it('a missing required field, reported at its parent', () => {
    const text = edit(VALID, '                stat_prefix: out\n', '');
    const [p] = problemsOf(text);
    expect(p!.path).toBe('static_resources.listeners[0].filter_chains[0].filters[0].typed_config.stat_prefix');
    expect(p!.message).toMatch(/stat_prefix is required$/);
    expect(p!.line).toBe(lineOf(text, '"@type"'));
  });

  it('actions and filters outside the subset', () => {
    const other = edit(VALID, '- name: envoy.filters.http.router', '- name: envoy.filters.http.lua');
    expect(problemsOf(other)[0]!.message).toMatch(/http_filters\[0\]\.name names "envoy\.filters\.http\.lua"; the supported HTTP filters are envoy\.filters\.http\.fault, /);
    const twoActions = edit(VALID, '                          direct_response:\n', '                          route: { cluster: a }\n                          direct_response:\n');
    expect(problemsOf(twoActions)[0]!.message).toMatch(/routes\[2\] sets route and direct_response; only one of route, redirect, direct_response is allowed$/);
    const addIfAbsent = edit(VALID, 'append_action: APPEND_IF_EXISTS_OR_ADD', 'append_action: ADD_IF_ABSENT');
    expect(problemsOf(addIfAbsent)[0]!.message).toMatch(/append_action ADD_IF_ABSENT is not supported$/);
    const total = edit(VALID, 'total_weight: 100', 'total_weight: 99');
    expect(problemsOf(total)[0]!.message).toMatch(/total_weight is 99 but the cluster weights add up to 100$/);
    const retry = edit(VALID, 'retry_on: "5xx, reset,retriable-status-codes"', 'retry_on: "5xx,retriable-4xx"');
    expect(problemsOf(retry)[0]!.message).toMatch(/retry_on names "retriable-4xx", which is not supported/);
  });

  it('a YAML syntax error with its line', () => {
    const text = 'static_resources:\n  listeners: [\n';
    const [p] = problemsOf(text, 'broken.yaml');
    expect(p!.file).toBe('broken.yaml');
    expect(p!.line).not.toBeNull();
    expect(p!.message).toMatch(/^YAML: /);
  });

  it('an empty file, a non-map root, a null list item and a duplicate key', () => {
    expect(problemsOf('', 'e.yaml')).toEqual([{ file: 'e.yaml', line: null, path: '', message: 'the bootstrap is empty' }]);
    expect(problemsOf('- a\n- b\n', 'l.yaml')).toEqual([{ file: 'l.yaml', line: 1, path: '', message: 'the bootstrap must be a map' }]);
    const nullItem = 'static_resources:\n  clusters:\n    -\n';
    expect(problemsOf(nullItem)).toMatchObject([{ line: 3, message: 'static_resources.clusters[0] must not be empty (null)' }]);
    const dup = edit(VALID, 'stat_prefix: out', 'stat_prefix: out\n                stat_prefix: again');
    const [p] = problemsOf(dup);
    expect(p!.message).toMatch(/^YAML: Map keys must be unique/);
    expect(p!.line).toBeGreaterThanOrEqual(lineOf(dup, 'stat_prefix: out'));
  });

  it('header mutations Envoy refuses', () => {
    const host = edit(VALID, 'request_headers_to_remove: [x-internal]', 'request_headers_to_remove: [Host]');
    expect(problemsOf(host)[0]!.message).toMatch(/request_headers_to_remove\[0\] must not be "host"/);
    const formatter = edit(VALID, 'value: "100%%"', 'value: "%DOWNSTREAM_REMOTE_ADDRESS%"');
    expect(problemsOf(formatter)[0]!.message).toMatch(/header\.value uses a %FORMATTER% command, which is not supported/);
    const keepEmpty = edit(VALID, 'append: false', 'append: false\n                      keep_empty_value: true');
    expect(problemsOf(keepEmpty)[0]!.message).toMatch(/request_headers_to_add\[0\]\.keep_empty_value is not supported$/);
  });

  it('reports several problems at once, in file order', () => {
    let text = edit(VALID, 'port_value: 15001', 'port_value: -1');
    text = edit(text, "      type: STATIC\n", "      type: ORIGINAL_DST\n");
    text = edit(text, '{ name: b, weight: 25 }', '{ name: nope, weight: -1 }');
    text = edit(text, 'codec_type: HTTP1', 'codec_type: HTTP3\n                tracing: {}');
    const problems = problemsOf(text);
    expect(problems.map((p) => p.message)).toEqual([
      'static_resources.listeners[0].address.socket_address.port_value must be between 0 and 65535',
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.codec_type must be one of AUTO, HTTP1, HTTP2',
      'static_resources.listeners[0].filter_chains[0].filters[0].typed_config.tracing.provider is required',
      expect.stringMatching(/weighted_clusters\.clusters\[1\]\.weight must be between 0 and 4294967295$/),
      'static_resources.clusters[1].type ORIGINAL_DST is not supported (STATIC, STRICT_DNS, LOGICAL_DNS)',
    ]);
    expect(problems.every((p) => p.file === 'bootstrap.yaml' && typeof p.line === 'number')).toBe(true);
  });
});

describe('loadBootstrapFile', () => {
  it('reads a file and turns a read error into a ConfigError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'isthmus-config-'));
    try {
      const file = join(dir, 'bootstrap.yaml');
      await writeFile(file, VALID);
      expect(await loadBootstrapFile(file)).toEqual(EXPECTED);
      const missing = join(dir, 'missing.yaml');
      const err = await loadBootstrapFile(missing).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toEqual([
        { file: missing, line: null, path: '', message: 'cannot read the file: ENOENT' },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
