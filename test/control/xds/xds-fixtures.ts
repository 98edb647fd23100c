// Small, valid Envoy resources for the xDS tests: EDS clusters with their
// ClusterLoadAssignments, a listener whose HttpConnectionManager (inside an
// Any) takes its routes over RDS, and a route configuration.
import { TYPE_URL } from '../../../control/xds/protos.js';
import { Snapshot, type SnapshotInput } from '../../../control/xds/snapshot.js';

export const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
export const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

export function cluster(name: string): object {
  return {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' } },
    connect_timeout: { seconds: '1', nanos: 0 },
    lb_policy: 'ROUND_ROBIN',
  };
}

export function endpoints(clusterName: string, ports: number[]): object {
  return {
    cluster_name: clusterName,
    endpoints: [
      {
        lb_endpoints: ports.map((port) => ({
          endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
        })),
      },
    ],
  };
}

export function listener(name: string, port: number, routeName: string): object {
  return {
    name,
    address: { socket_address: { address: '127.0.0.1', port_value: port } },
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': HCM_TYPE,
              stat_prefix: name,
              rds: { route_config_name: routeName, config_source: { ads: {}, resource_api_version: 'V3' } },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
            },
          },
        ],
      },
    ],
  };
}

export function routeConfig(name: string, clusters: string[]): object {
  return {
    name,
    virtual_hosts: [
      {
        name: 'all',
        domains: ['*'],
        routes: clusters.map((clusterName) => ({
          match: { prefix: `/${clusterName}` },
          route: { cluster: clusterName },
        })),
      },
    ],
  };
}

export interface Versions {
  cds?: string;
  eds?: string;
  lds?: string;
  rds?: string;
}

/** Clusters a, b; endpoints for both (ports vary with `edsPort`); listener l1 → route r1 → a, b. */
export function meshInput(versions: Versions = {}, edsPort = 9001): SnapshotInput {
  return {
    [TYPE_URL.CLUSTER]: { version: versions.cds ?? 'c1', resources: [cluster('a'), cluster('b')] },
    [TYPE_URL.ENDPOINT]: {
      version: versions.eds ?? 'e1',
      resources: [endpoints('a', [edsPort]), endpoints('b', [edsPort + 1, edsPort + 2])],
    },
    [TYPE_URL.LISTENER]: { version: versions.lds ?? 'l1', resources: [listener('l1', 15001, 'r1')] },
    [TYPE_URL.ROUTE]: { version: versions.rds ?? 'r1', resources: [routeConfig('r1', ['a', 'b'])] },
  };
}

export function meshSnapshot(versions: Versions = {}, edsPort = 9001): Snapshot {
  return new Snapshot(meshInput(versions, edsPort));
}
