// envoy.filters.http.rbac config from a bootstrap: the typed trees, the
// filter repeated (DENY then ALLOW), and what is refused by field path.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';

function bootstrap(filters: string): string {
  return `static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 8080}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: l
          route_config: {virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, direct_response: {status: 200}}]}]}
          http_filters:
${filters}
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
`;
}
const RBAC = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';

function problems(text: string): string[] {
  try {
    parseBootstrap(text, 'b.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.message);
    throw err;
  }
  return [];
}

describe('RBAC filter config', () => {
  it('reads rules and shadow rules; the filter may repeat', () => {
    const b = parseBootstrap(bootstrap(`          - name: envoy.filters.http.rbac
            typed_config:
              "@type": ${RBAC}
              rules:
                action: DENY
                policies:
                  p: {permissions: [{not_rule: {destination_port: 80}}], principals: [{remote_ip: {address_prefix: 10.0.0.0, prefix_len: 8}}]}
          - name: envoy.filters.http.rbac
            typed_config:
              "@type": ${RBAC}
              shadow_rules: {policies: {q: {permissions: [{any: true}], principals: [{authenticated: {principal_name: {exact: spiffe://a/b}}}]}}}
`), 'b.yaml');
    const f = b.listeners[0]!.httpFilters;
    expect(f.order).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.rbac']);
    expect(f.rbac).toEqual([
      { rules: { action: 'DENY', policies: [{ name: 'p', permissions: [{ kind: 'not', rule: { kind: 'destination_port', port: 80 } }], principals: [{ kind: 'remote_ip', cidr: { address: '10.0.0.0', prefixLen: 8 } }] }] }, shadowRules: null, rulesStatPrefix: '', shadowRulesStatPrefix: '' },
      { rules: null, shadowRules: { action: 'ALLOW', policies: [{ name: 'q', permissions: [{ kind: 'any' }], principals: [{ kind: 'authenticated', principalName: { kind: 'exact', value: 'spiffe://a/b', ignoreCase: false } }] }] }, rulesStatPrefix: '', shadowRulesStatPrefix: '' },
    ]);
  });

  it('refuses what it does not run, bad CIDRs and empty lists, by field', () => {
    const list = problems(bootstrap(`          - name: envoy.filters.http.rbac
            typed_config:
              "@type": ${RBAC}
              rules:
                policies:
                  a: {permissions: [{metadata: {filter: x}}], principals: [{direct_remote_ip: {address_prefix: 10.0.0.300, prefix_len: 8}}]}
                  b: {permissions: [], principals: [{any: true}], condition: {}}
`));
    expect(list.some((m) => /permissions\[0\]\.metadata is not supported by this proxy/.test(m))).toBe(true);
    expect(list.some((m) => /direct_remote_ip\.address_prefix is not an IP address: "10\.0\.0\.300"/.test(m))).toBe(true);
    expect(list.some((m) => /policies\.b\.permissions needs at least one permission/.test(m))).toBe(true);
    expect(list.some((m) => /policies\.b\.condition is not supported by this proxy \(CEL conditions\)/.test(m))).toBe(true);
  });
});
