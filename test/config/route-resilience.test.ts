// Route action resilience fields: hash policies, request mirroring, the
// previous-hosts retry predicate; parsed values, defaults and problems.
import { describe, expect, it } from 'vitest';
import type { RouteAction } from '../../src/config/bootstrap-types.js';
import { bootstrapText, lineOf, parseParts, problemLines, type Parts } from './bootstrap-text.js';

/** A long path is shown from its nearest named object: here the virtual host "web". */
const R = 'virtual host "web" › routes[0]';
const PREVIOUS_HOSTS_TYPE = 'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate';

function actionOf(parts: Parts): RouteAction {
  const action = parseParts(parts).listeners[0]!.routeConfig.virtualHosts[0]!.routes[0]!.action;
  if (action.type !== 'route') throw new Error('not a route action');
  return action;
}

describe('route: hash_policy', () => {
  it('reads header, cookie, source IP and query parameter policies in order', () => {
    const action = actionOf({
      action: {
        hash_policy: [
          { header: { header_name: 'X-User' } },
          { cookie: { name: 'session', ttl: '3600s', path: '/app' }, terminal: true },
          { cookie: { name: 'plain' } },
          { connection_properties: { source_ip: true } },
          { connection_properties: { source_ip: false } },
          { query_parameter: { name: 'user' } },
        ],
      },
    });
    expect(action.hashPolicy).toEqual([
      { kind: 'header', name: 'x-user', terminal: false },
      { kind: 'cookie', name: 'session', ttlMs: 3_600_000, path: '/app', terminal: true },
      { kind: 'cookie', name: 'plain', ttlMs: null, path: null, terminal: false },
      { kind: 'source_ip', terminal: false },
      // source_ip: false hashes nothing (as in Envoy) and is dropped
      { kind: 'query_parameter', name: 'user', terminal: false },
    ]);
    expect(actionOf({}).hashPolicy).toEqual([]);
  });

  it('reports two specifiers, a missing header name, a bad cookie name and filter_state', () => {
    const parts = {
      action: {
        hash_policy: [
          { header: { header_name: 'a' }, query_parameter: { name: 'b' } },
          { header: {} },
          { cookie: { name: 'a b' } },
          { filter_state: { key: 'k' } },
        ],
      },
    };
    const text = bootstrapText(parts);
    const h = `${R}.route.hash_policy`;
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, 'query_parameter')}: ${h}[0] sets header and query_parameter; only one of header, cookie, connection_properties, query_parameter, filter_state is allowed`,
      `b.yaml:${lineOf(text, 'header: {}')}: ${h}[1].header.header_name is required`,
      `b.yaml:${lineOf(text, 'name: a b')}: ${h}[2].cookie.name is not a valid cookie name: "a b"`,
      `b.yaml:${lineOf(text, 'key: k')}: ${h}[3].filter_state is not supported (hash on a header, cookie, connection_properties.source_ip or query_parameter)`,
    ]);
  });
});

describe('route: request_mirror_policies', () => {
  it('reads the cluster and the runtime fraction (default: every request)', () => {
    const action = actionOf({
      moreClusters: ['shadow', 'shadow2'],
      action: {
        request_mirror_policies: [
          { cluster: 'shadow', runtime_fraction: { default_value: { numerator: 25 }, runtime_key: 'mirror.shadow' } },
          { cluster: 'shadow2', runtime_fraction: { default_value: { numerator: 5000, denominator: 'TEN_THOUSAND' } }, trace_sampled: false },
        ],
      },
    });
    expect(action.requestMirrorPolicies).toEqual([{ cluster: 'shadow', fraction: 0.25 }, { cluster: 'shadow2', fraction: 0.5 }]);
    const all = actionOf({ moreClusters: ['shadow'], action: { request_mirror_policies: [{ cluster: 'shadow' }] } });
    expect(all.requestMirrorPolicies).toEqual([{ cluster: 'shadow', fraction: 1 }]);
    const capped = actionOf({ moreClusters: ['shadow'], action: { request_mirror_policies: [{ cluster: 'shadow', runtime_fraction: { default_value: { numerator: 150 } } }] } });
    expect(capped.requestMirrorPolicies[0]!.fraction).toBe(1);
  });

  it('cluster_header: the header name, lowercased (the cluster is named per request, so not checked here); not a header name is a problem', () => {
    const action = actionOf({ action: { request_mirror_policies: [{ cluster_header: 'X-Mirror-Cluster' }] } });
    expect(action.requestMirrorPolicies).toEqual([{ clusterHeader: 'x-mirror-cluster', fraction: 1 }]);
    const parts = { action: { request_mirror_policies: [{ cluster_header: 'x mirror' }, { cluster: 'a', cluster_header: 'x-mirror' }] } };
    const text = bootstrapText(parts);
    const m = `${R}.route.request_mirror_policies`;
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, 'cluster_header: x mirror')}: ${m}[0].cluster_header "x mirror" is not a header name`,
      `b.yaml:${lineOf(text, 'cluster_header: x-mirror')}: ${m}[1] sets cluster and cluster_header; only one of cluster, cluster_header is allowed`,
    ]);
  });

  it('checks that the mirror cluster exists, and reports a bad denominator and a missing default_value', () => {
    const parts = {
      action: {
        request_mirror_policies: [
          { cluster: 'nowhere' },
          { cluster: 'a', runtime_fraction: { default_value: { numerator: 1, denominator: 'THOUSAND' } } },
          { cluster: 'a', runtime_fraction: { runtime_key: 'k' } },
        ],
      },
    };
    const text = bootstrapText(parts);
    const m = `${R}.route.request_mirror_policies`;
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, 'cluster: nowhere')}: ${m}[0].cluster names cluster "nowhere", which is not defined in static_resources.clusters`,
      `b.yaml:${lineOf(text, 'denominator: THOUSAND')}: ${m}[1].runtime_fraction.default_value.denominator must be one of HUNDRED, TEN_THOUSAND, MILLION`,
      `b.yaml:${lineOf(text, 'runtime_key: k')}: ${m}[2].runtime_fraction.default_value is required`,
    ]);
  });
});

describe('route: retry host predicate', () => {
  it('reads previous_hosts by name or by typed_config, and host_selection_retry_max_attempts', () => {
    const byName = actionOf({ action: { retry_policy: { retry_on: '5xx', retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }], host_selection_retry_max_attempts: 5 } } });
    expect(byName.retryPolicy).toMatchObject({ previousHostsPredicate: true, hostSelectionRetryMaxAttempts: 5 });
    const byType = actionOf({
      action: { retry_policy: { retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts', typed_config: { '@type': PREVIOUS_HOSTS_TYPE } }] } },
    });
    expect(byType.retryPolicy).toMatchObject({ previousHostsPredicate: true, hostSelectionRetryMaxAttempts: 1 });
    expect(actionOf({ action: { retry_policy: { retry_on: '5xx' } } }).retryPolicy).toMatchObject({ previousHostsPredicate: false, hostSelectionRetryMaxAttempts: 1 });
  });

  it('reports another predicate and a wrong typed_config', () => {
    const parts = {
      action: {
        retry_policy: {
          retry_host_predicate: [
            { name: 'envoy.retry_host_predicates.omit_canary_hosts' },
            { name: 'p', typed_config: { '@type': 'type.googleapis.com/x.Other' } },
          ],
        },
      },
    };
    const text = bootstrapText(parts);
    const p = `${R}.route.retry_policy.retry_host_predicate`;
    expect(problemLines(parts)).toEqual([
      `b.yaml:${lineOf(text, 'omit_canary_hosts')}: ${p}[0].name names "envoy.retry_host_predicates.omit_canary_hosts"; the only supported retry host predicate is envoy.retry_host_predicates.previous_hosts`,
      `b.yaml:${lineOf(text, 'x.Other')}: ${p}[1].typed_config.@type must be ${PREVIOUS_HOSTS_TYPE} (got "type.googleapis.com/x.Other")`,
    ]);
  });
});
