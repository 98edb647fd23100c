// Envoy forms users write every day that the readers used to refuse: a
// weighted cluster of weight 0 (canary tools write it; it takes no traffic),
// admin.access_log_path (in the config Envoy's own image ships; the admin
// API appends a line per request to it, see test/e2e/admin.test.ts) and CORS
// shadow_enabled (evaluated, not enforced).
import { describe, expect, it } from 'vitest';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { bootstrapText, lineOf, parseParts, problemLines } from './bootstrap-text.js';

const R = 'virtual host "web" › routes[0]';

describe('weighted_clusters with a weight of 0', () => {
  const parts = { moreClusters: ['canary'], action: { cluster: undefined, weighted_clusters: { clusters: [{ name: 'a', weight: 100 }, { name: 'canary', weight: 0 }] } } };

  it('is read, and the 0-weight cluster never gets a request', () => {
    const b = parseParts(parts);
    const route = b.listeners[0]!.routeConfig.virtualHosts[0]!.routes[0]!;
    expect(route.action).toMatchObject({ type: 'route', clusters: [{ name: 'a', weight: 100 }, { name: 'canary', weight: 0 }], totalWeight: 100 });
    const table = RouteTable.compile(b.listeners[0]!.routeConfig);
    const hit = table.match({ method: 'GET', path: '/', query: '', authority: 'x', headers: [] })!;
    const picked = new Set<string>();
    for (let i = 0; i <= 1000; i++) picked.add(hit.pickCluster(i / 1000));
    picked.add(hit.pickCluster(1.5)); // out of range: clamped to a cluster that takes traffic
    expect([...picked]).toEqual(['a']);
  });

  it('puts a 0-weight cluster first without giving it traffic', () => {
    const b = parseParts({ ...parts, action: { cluster: undefined, weighted_clusters: { clusters: [{ name: 'canary', weight: 0 }, { name: 'a', weight: 1 }] } } });
    const hit = RouteTable.compile(b.listeners[0]!.routeConfig).match({ method: 'GET', path: '/', query: '', authority: 'x', headers: [] })!;
    expect([0, 0.5, 0.999].map((r) => hit.pickCluster(r))).toEqual(['a', 'a', 'a']);
  });

  it('refuses weights that add up to 0, as Envoy does', () => {
    const zero = { ...parts, action: { cluster: undefined, weighted_clusters: { clusters: [{ name: 'a', weight: 0 }, { name: 'canary', weight: 0 }] } } };
    const text = bootstrapText(zero);
    expect(problemLines(zero)).toEqual([
      `b.yaml:${lineOf(text, 'name: a', 'weighted_clusters')}: ${R}.route.weighted_clusters.clusters weights add up to 0; at least one cluster needs a weight above 0`,
    ]);
  });
});

describe('admin.access_log_path', () => {
  it('is read beside the admin address (Envoy image config)', () => {
    const text = bootstrapText().replace('static_resources:', 'admin:\n  access_log_path: /dev/null\n  address:\n    socket_address: { address: 127.0.0.1, port_value: 9901 }\nstatic_resources:');
    const b = parseParts({});
    expect(b.admin).toBeUndefined();
    expect(parseBootstrap(text, 'b.yaml')).toMatchObject({ admin: { address: '127.0.0.1', port: 9901 }, adminAccessLogPath: '/dev/null' });
  });
});

describe('CORS shadow_enabled', () => {
  it('is read as a runtime fraction; without it there is no shadowing', () => {
    const cors = (extra: Record<string, unknown>) => parseParts({ vhost: { cors: { allow_origin_string_match: [{ exact: 'https://a.example' }], ...extra } } })
      .listeners[0]!.routeConfig.virtualHosts[0]!.cors;
    expect(cors({ filter_enabled: { default_value: { numerator: 0 } }, shadow_enabled: { default_value: { numerator: 100 } } }))
      .toMatchObject({ filterEnabled: 0, shadowEnabled: 1 });
    expect(cors({}).shadowEnabled ?? 0).toBe(0);
  });
});
