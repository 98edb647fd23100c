// AuthorizationPolicy -> Envoy RBAC as Istio translates it: which policies
// apply to a workload, the filter order (DENY then ALLOW), Istio's policy
// names, spiffe:// principals, namespace regexes, and dry-run into shadow_rules.
import { describe, expect, it } from 'vitest';
import type { AuthorizationPolicy } from '../../../control/config/istio-types.js';
import { parseResources } from '../../../control/config/parse-resources.js';
import { authorizationPoliciesFor, authzHttpFilters } from '../../../control/translate/authz-rbac.js';
import { authzRows } from '../../../control/mesh/authz-table.js';

function policies(text: string): AuthorizationPolicy[] {
  return parseResources(text, 'p.yaml') as AuthorizationPolicy[];
}

const doc = (name: string, ns: string, spec: string, annotations = '{}'): string =>
  `apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ${name}, namespace: ${ns}, annotations: ${annotations}}\nspec: ${spec}\n`;

describe('AuthorizationPolicy translation', () => {
  it('applies root-namespace policies mesh-wide, namespace ones to the namespace, selectors by workload labels', () => {
    const all = policies([
      doc('mesh', 'istio-system', '{}'),
      doc('ns', 'shop', '{}'),
      doc('reviews-only', 'shop', '{selector: {matchLabels: {app: reviews}}}'),
      doc('other-ns', 'bank', '{}'),
      doc('root-selected', 'istio-system', '{selector: {matchLabels: {app: ratings}}}'),
    ].join('---\n'));
    const names = (labels: Record<string, string>, namespace: string): string[] =>
      authorizationPoliciesFor(all, 'istio-system', { namespace, labels }).map((p) => p.metadata.name).sort();
    expect(names({ app: 'reviews' }, 'shop')).toEqual(['mesh', 'ns', 'reviews-only']);
    expect(names({ app: 'ratings' }, 'shop')).toEqual(['mesh', 'ns', 'root-selected']);
    expect(names({ app: 'x' }, 'bank')).toEqual(['mesh', 'other-ns']);
  });

  it('builds a DENY filter before an ALLOW filter, one Envoy policy per rule with Istio\'s names and matchers', () => {
    const all = policies([
      doc('viewers', 'shop', `{rules: [{from: [{source: {principals: ["cluster.local/ns/shop/sa/web"], namespaces: ["shop"]}}], to: [{operation: {methods: [GET], paths: ["/api/*"]}}]}, {}]}`),
      doc('blocked', 'shop', `{action: DENY, rules: [{from: [{source: {notIpBlocks: ["10.0.0.0/8"]}}]}]}`),
      doc('trial', 'shop', `{action: DENY, rules: [{to: [{operation: {hosts: ["*.example.com"]}}]}]}`, '{istio.io/dry-run: "true"}'),
    ].join('---\n'));
    const filters = authzHttpFilters(all, { namespace: 'shop', labels: {}, appPort: 8080 }) as { typed_config: Record<string, any> }[];
    expect(filters.map((f) => f.typed_config.rules?.action)).toEqual(['DENY', 'ALLOW']);
    const [deny, allow] = filters.map((f) => f.typed_config);
    expect(Object.keys(deny!.rules.policies)).toEqual(['ns[shop]-policy[blocked]-rule[0]']);
    expect(deny!.rules.policies['ns[shop]-policy[blocked]-rule[0]'].principals).toEqual([{ not_id: { direct_remote_ip: { address_prefix: '10.0.0.0', prefix_len: { value: 8 } } } }]);
    expect(deny!.shadow_rules).toEqual({
      action: 'DENY',
      policies: { 'ns[shop]-policy[trial]-rule[0]': { permissions: [{ header: { name: ':authority', string_match: { suffix: '.example.com', ignore_case: true } } }], principals: [{ any: true }] } },
    });
    expect(allow!.rules.policies).toEqual({
      'ns[shop]-policy[viewers]-rule[0]': {
        permissions: [{ and_rules: { rules: [{ header: { name: ':method', string_match: { exact: 'GET' } } }, { url_path: { path: { prefix: '/api/' } } }] } }],
        principals: [{ and_ids: { ids: [
          { authenticated: { principal_name: { exact: 'spiffe://cluster.local/ns/shop/sa/web' } } },
          { authenticated: { principal_name: { safe_regex: { regex: '.*/ns/shop/.*' } } } },
        ] } }],
      },
      'ns[shop]-policy[viewers]-rule[1]': { permissions: [{ any: true }], principals: [{ any: true }] },
    });
  });

  it('CUSTOM first: an RBAC shadow filter (istio_ext_authz_) gating ext_authz on the control plane, then DENY, then ALLOW', () => {
    const all = policies([
      doc('guard', 'shop', `{action: CUSTOM, provider: {name: isthmus}, rules: [{to: [{operation: {paths: ["/admin*"]}}]}]}`),
      doc('trial', 'shop', `{action: CUSTOM, provider: {name: isthmus}, rules: [{}]}`, '{istio.io/dry-run: "true"}'),
      doc('blocked', 'shop', `{action: DENY, rules: [{to: [{operation: {methods: [DELETE]}}]}]}`),
      doc('viewers', 'shop', `{rules: [{}]}`),
    ].join('---\n'));
    const filters = authzHttpFilters(all, { namespace: 'shop', labels: {}, appPort: 8080 }) as { name: string; typed_config: Record<string, any> }[];
    expect(filters.map((f) => f.name)).toEqual(['envoy.filters.http.rbac', 'envoy.filters.http.ext_authz', 'envoy.filters.http.rbac', 'envoy.filters.http.rbac']);
    const [gate, extAuthz] = filters.map((f) => f.typed_config);
    // The dry-run CUSTOM policy is left out: it would still call the provider.
    expect(gate).toEqual({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
      shadow_rules: { action: 'DENY', policies: { 'istio-ext-authz-ns[shop]-policy[guard]-rule[0]': { permissions: [{ url_path: { path: { prefix: '/admin' } } }], principals: [{ any: true }] } } },
      shadow_rules_stat_prefix: 'istio_ext_authz_',
    });
    expect(extAuthz!.grpc_service.envoy_grpc).toEqual({ cluster_name: 'xds-grpc' });
    expect(extAuthz!.filter_enabled_metadata).toEqual({
      filter: 'envoy.filters.http.rbac', path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }], value: { string_match: { prefix: 'istio-ext-authz-' } },
    });
    const listener = { name: 'inbound', filter_chains: [{ name: 'http', filters: [{ typed_config: { http_filters: filters } }] }] };
    expect(authzRows([listener]).map((r) => [r.action, r.policy, r.dryRun])).toEqual([['CUSTOM', 'guard.shop', false], ['DENY', 'blocked.shop', false], ['ALLOW', 'viewers.shop', false]]);
  });

  it('an ALLOW policy with no rules gives an ALLOW filter with no policies (deny all); none at all gives no filter', () => {
    const filters = authzHttpFilters(policies(doc('deny-all', 'shop', '{}')), { namespace: 'shop', labels: {}, appPort: 1 }) as { typed_config: Record<string, any> }[];
    expect(filters).toHaveLength(1);
    expect(filters[0]!.typed_config.rules).toEqual({ action: 'ALLOW', policies: {} });
    expect(authzHttpFilters([], { namespace: 'shop', labels: {}, appPort: 1 })).toEqual([]);
  });
});
