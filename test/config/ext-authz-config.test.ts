// envoy.filters.http.ext_authz's config as the proxy reads it: the gRPC
// service, Envoy's defaults (200ms, fail closed with 403), Istio's
// filter_enabled_metadata shape, and what is refused by name.
import { describe, expect, it } from 'vitest';
import { parseParts, problemLines } from './bootstrap-text.js';

const EXT_AUTHZ = 'envoy.filters.http.ext_authz';
const TYPE = 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const ROUTER = { name: 'envoy.filters.http.router' };

const filter = (fields: Record<string, unknown>) => ({ httpFilters: [{ name: EXT_AUTHZ, typed_config: { '@type': TYPE, ...fields } }, ROUTER] });

describe('envoy.filters.http.ext_authz config', () => {
  it('reads the gRPC cluster with Envoy\'s defaults, and the fields Istio sets', () => {
    expect(parseParts(filter({ grpc_service: { envoy_grpc: { cluster_name: 'authz' } } })).listeners[0]!.httpFilters.extAuthz)
      .toEqual({ clusterName: 'authz', timeoutMs: 200, failureModeAllow: false, statusOnError: 403, enabledBy: null });
    expect(parseParts(filter({
      grpc_service: { envoy_grpc: { cluster_name: 'xds-grpc' }, timeout: '2s' }, transport_api_version: 'V3', failure_mode_allow: true,
      status_on_error: { code: 'ServiceUnavailable' },
      filter_enabled_metadata: { filter: 'envoy.filters.http.rbac', path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }], value: { string_match: { prefix: 'istio-ext-authz' } } },
    })).listeners[0]!.httpFilters.extAuthz).toEqual({
      clusterName: 'xds-grpc', timeoutMs: 2000, failureModeAllow: true, statusOnError: 503,
      enabledBy: { shadowStatPrefix: 'istio_ext_authz_', prefix: 'istio-ext-authz', exact: null },
    });
  });

  it('refuses a missing grpc_service, http_service, a V2 transport and other metadata matchers, by field', () => {
    const problems = problemLines(filter({ http_service: { server_uri: {} }, transport_api_version: 'V2', filter_enabled_metadata: { filter: 'x', path: [{ key: 'k' }], value: { string_match: { exact: 'v' } } } })).join('\n');
    expect(problems).toContain('grpc_service is required');
    expect(problems).toContain('transport_api_version is V2; only V3 is supported');
    expect(problems).toContain('filter_enabled_metadata only the RBAC shadow-rules form is supported');
    expect(problems).toContain('http_service');
  });
});
