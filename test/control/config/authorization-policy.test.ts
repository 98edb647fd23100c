// AuthorizationPolicy parsing: the typed spec, Istio's empty-policy forms, and
// what is refused with the file, line and field (JWT fields, CUSTOM/AUDIT,
// unknown condition keys, bad CIDRs, ports and wildcards).
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.js';
import type { AuthorizationPolicy } from '../../../control/config/istio-types.js';
import { parseResources } from '../../../control/config/parse-resources.js';

const HEAD = 'apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: p, namespace: shop}\n';

function problemsOf(text: string): string[] {
  try {
    parseResources(text, 'authz.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.file}:${p.line}: ${p.message}`);
    throw err;
  }
  return [];
}

describe('AuthorizationPolicy', () => {
  it('reads selector, action and rules of from / to / when', () => {
    const [p] = parseResources(`${HEAD}spec:
  selector: {matchLabels: {app: reviews}}
  action: DENY
  rules:
  - from: [{source: {principals: ["cluster.local/ns/shop/sa/a"], notNamespaces: [test], ipBlocks: ["10.0.0.0/8", "1.2.3.4"]}}]
    to: [{operation: {methods: [GET], notPaths: ["/admin*"], ports: ["8080"]}}]
    when: [{key: "request.headers[X-User]", values: ["bob"]}, {key: destination.port, notValues: ["9090"]}]
`, 'authz.yaml') as [AuthorizationPolicy];
    expect(p.spec).toEqual({
      selector: { app: 'reviews' },
      action: 'DENY',
      rules: [{
        from: [{ principals: ['cluster.local/ns/shop/sa/a'], notNamespaces: ['test'], ipBlocks: ['10.0.0.0/8', '1.2.3.4'] }],
        to: [{ methods: ['GET'], notPaths: ['/admin*'], ports: ['8080'] }],
        when: [{ key: 'request.headers[X-User]', values: ['bob'] }, { key: 'destination.port', notValues: ['9090'] }],
      }],
    });
  });

  it('takes spec: {} and no spec at all as an ALLOW policy with no rules (Istio\'s deny-all)', () => {
    const [a, b] = parseResources(`${HEAD}spec: {}\n---\n${HEAD.replace('name: p', 'name: q')}`, 'authz.yaml') as AuthorizationPolicy[];
    expect(a!.spec).toEqual({ action: 'ALLOW', rules: [] });
    expect(b!.spec).toEqual({ action: 'ALLOW', rules: [] });
  });

  it('reads CUSTOM with provider isthmus; refuses it without a provider, without rules, and provider on ALLOW', () => {
    const [p] = parseResources(`${HEAD}spec:\n  action: CUSTOM\n  provider: {name: isthmus}\n  rules: [{}]\n`, 'authz.yaml') as [AuthorizationPolicy];
    expect(p.spec).toEqual({ action: 'CUSTOM', provider: { name: 'isthmus' }, rules: [{ from: [], to: [], when: [] }] });
    expect(problemsOf(`${HEAD}spec:\n  action: CUSTOM\n  rules: [{}]\n`)).toEqual(['authz.yaml:5: spec.provider is required']);
    expect(problemsOf(`${HEAD}spec:\n  action: CUSTOM\n  provider: {name: isthmus}\n`)[0]).toContain('spec.rules is empty; a CUSTOM policy calls its provider only for the requests its rules match');
    expect(problemsOf(`${HEAD}spec:\n  action: ALLOW\n  provider: {name: isthmus}\n`)).toEqual(['authz.yaml:6: spec.provider is only for action CUSTOM']);
  });

  it('refuses requestPrincipals and request.auth.* (no JWT here), an unknown CUSTOM provider and AUDIT, naming the file, line and field', () => {
    expect(problemsOf(`${HEAD}spec:
  action: CUSTOM
  provider: {name: ext}
  rules:
  - from: [{source: {requestPrincipals: ["iss/sub"]}}]
    when: [{key: "request.auth.claims[group]", values: [admin]}]
`)).toEqual([
      'authz.yaml:6: spec.provider.name names provider "ext"; this mesh has one ext_authz provider, "isthmus" (the control plane\'s own Authorization service, answered by its Mixer rules)',
      'authz.yaml:8: spec.rules[0].from[0].source.requestPrincipals needs JWT validation (RequestAuthentication), which this mesh does not have',
      'authz.yaml:9: spec.rules[0].when[0].key "request.auth.claims[group]" needs JWT validation (RequestAuthentication), which this mesh does not have',
    ]);
    expect(problemsOf(`${HEAD}spec: {action: AUDIT}\n`)[0]).toContain('spec.action AUDIT needs an audit logging provider');
  });

  it('refuses unknown condition keys, bad CIDRs, ports, inner wildcards, empty lists and unknown fields', () => {
    expect(problemsOf(`${HEAD}spec:
  rules:
  - from: [{source: {ipBlocks: ["10.0.0.0/33", "nope"], principals: []}}]
    to: [{operation: {ports: ["0"], paths: ["/a*b"], verbs: [GET]}}]
    when: [{key: source.labels, values: [x]}, {key: source.ip}]
`)).toEqual([
      'authz.yaml:6: spec.rules[0].from[0].source.principals must not be empty (leave the field out to match anything)',
      'authz.yaml:6: spec.rules[0].from[0].source.ipBlocks[0] is not an IP address or CIDR range: "10.0.0.0/33"',
      'authz.yaml:6: spec.rules[0].from[0].source.ipBlocks[1] is not an IP address or CIDR range: "nope"',
      'authz.yaml:7: spec.rules[0].to[0].operation.ports[0] is not a port number (1-65535): "0"',
      'authz.yaml:7: spec.rules[0].to[0].operation.paths[0] may have \'*\' only at its start or its end (exact, "prefix*", "*suffix" or "*"): "/a*b"',
      'authz.yaml:7: spec.rules[0].to[0].operation.verbs is not supported',
      'authz.yaml:8: spec.rules[0].when[0].key "source.labels" is not a supported condition key (supported: request.headers[<name>], source.ip, remote.ip, source.namespace, source.principal, destination.ip, destination.port, connection.sni)',
      'authz.yaml:8: spec.rules[0].when[1].values or notValues is required',
    ]);
  });

  it('is served by security.istio.io only', () => {
    expect(problemsOf(HEAD.replace('security.istio.io/v1', 'networking.istio.io/v1') + 'spec: {}\n')[0])
      .toContain('apiVersion "networking.istio.io/v1" does not serve AuthorizationPolicy (security.istio.io/v1beta1 or /v1)');
  });
});
