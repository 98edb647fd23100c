// xDS resources (proto3 JSON objects) → the data plane's Bootstrap: RDS and
// EDS inlined, make-before-break waiting, and precise per-resource problems.
import { describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../src/xds/xds-protos.js';
import { assembleBootstrap, validateXdsResource, type Json } from '../../src/xds/xds-resources.js';
import { cluster, endpoints, listener, routeConfig } from '../control/xds/xds-fixtures.js';
import { expectedCluster, expectedEndpoint } from '../support/bootstrap-defaults.js';

const asJson = (value: object): Json => value as Json;

function set(parts: { listeners?: object[]; routes?: object[]; clusters?: object[]; endpoints?: object[] }) {
  const byName = (items: object[] = [], key = 'name') => new Map(items.map((item) => [(item as Json)[key] as string, asJson(item)]));
  return {
    listeners: byName(parts.listeners),
    routes: byName(parts.routes),
    clusters: byName(parts.clusters),
    endpoints: byName(parts.endpoints, 'cluster_name'),
  };
}

describe('assembleBootstrap', () => {
  it('inlines the RDS route configuration and the EDS endpoints', () => {
    const assembly = assembleBootstrap(set({
      listeners: [listener('l1', 15001, 'r1')],
      routes: [routeConfig('r1', ['a'])],
      clusters: [cluster('a')],
      endpoints: [endpoints('a', [9001, 9002])],
    }));
    expect(assembly.complete).toBe(true);
    if (!assembly.complete) return;
    const [l1] = assembly.bootstrap.listeners;
    expect(l1).toMatchObject({ name: 'l1', address: { address: '127.0.0.1', port: 15001 }, statPrefix: 'l1' });
    expect(l1!.routeConfig.name).toBe('r1');
    expect(l1!.routeConfig.virtualHosts[0]!.routes[0]!.match).toMatchObject({ kind: 'prefix', value: '/a' });
    expect(assembly.bootstrap.clusters).toEqual([
      expectedCluster({ name: 'a', connectTimeoutMs: 1000, endpoints: [expectedEndpoint('127.0.0.1', 9001), expectedEndpoint('127.0.0.1', 9002)] }),
    ]);
  });

  it('waits for a listener\'s route configuration, a route\'s cluster and a cluster\'s endpoints (make-before-break)', () => {
    const noRoute = assembleBootstrap(set({ listeners: [listener('l1', 15001, 'r1')] }));
    expect(noRoute).toEqual({ complete: false, waitingFor: ['RouteConfiguration r1 (for Listener l1)'] });
    const noCluster = assembleBootstrap(set({ listeners: [listener('l1', 15001, 'r1')], routes: [routeConfig('r1', ['a'])] }));
    expect(noCluster).toEqual({ complete: false, waitingFor: ['Cluster a (for RouteConfiguration r1)'] });
    const noEndpoints = assembleBootstrap(set({ clusters: [cluster('a')] }));
    expect(noEndpoints).toEqual({ complete: false, waitingFor: ['ClusterLoadAssignment a (for Cluster a)'] });
  });

  it('reports problems between resources as a ConfigError', () => {
    expect(() => assembleBootstrap(set({
      listeners: [listener('l1', 15001, 'r1'), listener('l2', 15001, 'r1')],
      routes: [routeConfig('r1', [])],
    }))).toThrow(/binds 127\.0\.0\.1:15001, as listener "l1" already does/);
  });
});

describe('validateXdsResource', () => {
  it('names the resource and the field outside the subset', () => {
    const reviews = { ...cluster('outbound|9080|v1|reviews.default.svc.cluster.local'), lrs_server: {} };
    expect(validateXdsResource(TYPE_URL.CLUSTER, asJson(reviews))).toEqual([
      'Cluster outbound|9080|v1|reviews.default.svc.cluster.local: lrs_server is not supported',
    ]);
  });

  it('accepts the fixtures and checks each type with the bootstrap readers', () => {
    expect(validateXdsResource(TYPE_URL.LISTENER, asJson(listener('l1', 0, 'r1')))).toEqual([]);
    expect(validateXdsResource(TYPE_URL.ROUTE, asJson(routeConfig('r1', ['a'])))).toEqual([]);
    expect(validateXdsResource(TYPE_URL.CLUSTER, asJson(cluster('a')))).toEqual([]);
    expect(validateXdsResource(TYPE_URL.ENDPOINT, asJson(endpoints('a', [1])))).toEqual([]);
    const badRoute = { name: 'r1', virtual_hosts: [{ name: 'v', domains: ['*'], routes: [{ match: {}, route: { cluster: 'a' } }] }] };
    expect(validateXdsResource(TYPE_URL.ROUTE, asJson(badRoute))).toEqual([
      'RouteConfiguration r1: virtual_hosts[0].routes[0].match must set one of prefix, path, safe_regex, connect_matcher',
    ]);
    const badEndpoints = { cluster_name: 'a', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 'reviews', port_value: 80 } } } }] }] };
    expect(validateXdsResource(TYPE_URL.ENDPOINT, asJson(badEndpoints))).toEqual([
      'ClusterLoadAssignment a: endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address must be an IP address literal (no DNS names): "reviews"; a DNS name needs cluster type STRICT_DNS or LOGICAL_DNS',
    ]);
  });

  it('rejects RDS and EDS config sources other than ADS', () => {
    const viaFile = structuredClone(listener('l1', 0, 'r1')) as Json;
    const hcm = ((viaFile.filter_chains as Json[])[0]!.filters as Json[])[0]!.typed_config as Json;
    (hcm.rds as Json).config_source = { path: '/etc/routes.yaml' };
    expect(validateXdsResource(TYPE_URL.LISTENER, viaFile)).toEqual([
      'Listener l1: filter_chains[0].filters[0].typed_config.rds.config_source: only ads config sources are supported',
      'Listener l1: filter_chains[0].filters[0].typed_config.rds.config_source.path is not supported',
    ]);
    const originalDst = { ...cluster('a'), type: 'ORIGINAL_DST' };
    expect(validateXdsResource(TYPE_URL.CLUSTER, asJson(originalDst))[0]).toMatch(/^Cluster a: type ORIGINAL_DST is not supported/);
  });
});
