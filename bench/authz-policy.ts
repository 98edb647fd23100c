// The authz scenario's policy: an AuthorizationPolicy set of 10 rules (3 DENY,
// 7 ALLOW, the last ALLOW one matching the bench's GET /), translated exactly
// as the control plane translates it for a sidecar's inbound listener, so the
// row measures the proxy's per-request cost of Istio-shaped RBAC.
import { parseResources } from '../control/config/parse-resources.js';
import { authzHttpFilters } from '../control/translate/authz-rbac.js';

const POLICIES = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-list, namespace: bench}
spec:
  action: DENY
  rules:
  - when: [{key: "request.headers[x-deny]", values: ["yes", "true*"]}]
  - to: [{operation: {paths: ["/admin*", "*/debug"], methods: ["POST", "DELETE"]}}]
  - from: [{source: {ipBlocks: ["10.0.0.0/8", "192.168.0.0/16"]}}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-list, namespace: bench}
spec:
  action: ALLOW
  rules:
  - from: [{source: {principals: ["cluster.local/ns/bench/sa/a", "cluster.local/ns/bench/sa/b"]}}]
  - from: [{source: {namespaces: ["payments"]}}]
    to: [{operation: {methods: ["GET"]}}]
  - to: [{operation: {paths: ["/api/v1/*"], methods: ["GET", "PUT"]}}]
  - to: [{operation: {hosts: ["api.example.com", "*.internal"]}}]
  - when: [{key: "request.headers[x-tenant]", values: ["blue", "green"]}]
  - from: [{source: {ipBlocks: ["172.16.0.0/12"]}}]
    to: [{operation: {notPaths: ["/private*"]}}]
  - from: [{source: {ipBlocks: ["127.0.0.0/8"]}}]
    to: [{operation: {methods: ["GET", "HEAD"], paths: ["/*"]}}]
`;

/** The RBAC http_filters (DENY, then ALLOW) for the bench bootstrap. */
export function benchAuthzFilters(): object[] {
  return authzHttpFilters(parseResources(POLICIES, 'bench-authz.yaml').filter((r) => r.kind === 'AuthorizationPolicy'), { namespace: 'bench', labels: {}, appPort: 0 });
}
