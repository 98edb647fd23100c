// A small valid bootstrap (one listener routing / to cluster "a", one cluster)
// with parts merged in, written as YAML so problems carry real line numbers.
import { expect } from 'vitest';
import { stringify } from 'yaml';
import type { Bootstrap } from '../../src/config/bootstrap-types.js';
import { ConfigError, formatProblem } from '../../src/config/config-error.js';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

export interface Parts {
  /** Fields merged into cluster "a". */
  readonly cluster?: Record<string, unknown>;
  /** More clusters (each gets one endpoint on 127.0.0.1:9100 unless it sets load_assignment). */
  readonly moreClusters?: readonly string[];
  /** Fields merged into the route's action (`route: { cluster: a }`). */
  readonly action?: Record<string, unknown>;
  /** Fields merged into the route. */
  readonly route?: Record<string, unknown>;
  /** Fields merged into the virtual host. */
  readonly vhost?: Record<string, unknown>;
  /** http_filters, when given. */
  readonly httpFilters?: readonly unknown[];
  /** access_log, when given. */
  readonly accessLog?: readonly unknown[];
  /** http_connection_manager.tracing, when given. */
  readonly tracing?: unknown;
}

function staticCluster(name: string, port: number): Record<string, unknown> {
  return {
    name,
    load_assignment: { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } }] }] },
  };
}

export function bootstrapText(parts: Parts = {}): string {
  const hcm: Record<string, unknown> = {
    '@type': HCM,
    stat_prefix: 'in',
    route_config: {
      name: 'rc',
      virtual_hosts: [{
        name: 'web',
        domains: ['*'],
        routes: [{ match: { prefix: '/' }, route: { cluster: 'a', ...parts.action }, ...parts.route }],
        ...parts.vhost,
      }],
    },
  };
  if (parts.httpFilters !== undefined) hcm.http_filters = parts.httpFilters;
  if (parts.accessLog !== undefined) hcm.access_log = parts.accessLog;
  if (parts.tracing !== undefined) hcm.tracing = parts.tracing;
  return stringify({
    static_resources: {
      listeners: [{
        name: 'l',
        address: { socket_address: { address: '127.0.0.1', port_value: 15001 } },
        filter_chains: [{ filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }] }],
      }],
      clusters: [
        { ...staticCluster('a', 9001), ...parts.cluster },
        ...(parts.moreClusters ?? []).map((name) => staticCluster(name, 9100)),
      ],
    },
  });
}

export function parseParts(parts: Parts): Bootstrap {
  return parseBootstrap(bootstrapText(parts), 'b.yaml');
}

/** Every problem as `b.yaml:<line>: <path> <message>`; fails when the text parses. */
export function problemLines(parts: Parts): string[] {
  try {
    parseBootstrap(bootstrapText(parts), 'b.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map(formatProblem);
  }
  throw new Error('expected a ConfigError');
}

/** 1-based line of the first line of `text` containing `marker` (after `after`, when given). */
export function lineOf(text: string, marker: string, after = ''): number {
  const from = after === '' ? 0 : text.indexOf(after);
  const at = text.indexOf(marker, from);
  if (at === -1) throw new Error(`marker not found: ${marker}`);
  return text.slice(0, at).split('\n').length;
}
