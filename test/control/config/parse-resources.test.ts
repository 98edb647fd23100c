import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/config/config-error.js';
import type { DestinationRule, ServiceEntry, Sidecar, VirtualService, WorkloadEntry } from '../../../control/config/istio-types.js';
import { loadResourceDir, parseResources } from '../../../control/config/parse-resources.js';

const FULL = `
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: reviews
  namespace: shop
  labels: {team: books}
  annotations: {"example.com/owner": "a b"}
spec:
  hosts: [reviews, api.example.com]
  addresses: [10.0.0.10, 10.1.0.0/16]
  ports:
  - {number: 9080, name: http, protocol: HTTP}
  - {number: 9090, name: grpc, protocol: grpc}
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints:
  - address: 127.0.0.1
    ports: {http: 9081}
    labels: {version: v1}
    weight: 3
    serviceAccount: reviews
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: ratings-1}
spec:
  address: 127.0.0.2
  ports: {http: 9091}
  labels: {app: ratings}
  serviceAccount: ratings
  weight: 2
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  gateways: [mesh]
  http:
  - name: canary
    match:
    - name: jason
      uri: {prefix: /api}
      method: {exact: GET}
      authority: {regex: "reviews(:9080)?"}
      headers: {End-User: {exact: jason}}
      queryParams: {debug: {exact: "1"}}
      sourceLabels: {app: productpage}
    route:
    - destination: {host: reviews, subset: v1, port: {number: 9080}}
      weight: 90
      headers: {request: {set: {X-Canary: "no"}}}
    - destination: {host: reviews.shop.svc.cluster.local, subset: v2}
      weight: 10
    rewrite: {uri: /v2/api, authority: reviews-v2}
    timeout: 1m30s
    retries: {attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure,503"}
    fault:
      delay: {percentage: {value: 0.5}, fixedDelay: 250ms}
      abort: {percentage: {value: 1}, httpStatus: 503}
    mirror: {host: reviews, subset: v3}
    mirrorPercentage: {value: 5}
    headers:
      request: {set: {x-a: "1"}, add: {x-b: "2"}, remove: [X-C]}
      response: {remove: [server]}
    corsPolicy:
      allowOrigins: [{exact: "https://example.com"}, {regex: "https://.*\\\\.example\\\\.com"}]
      allowMethods: [GET, POST]
      allowHeaders: [x-token]
      exposeHeaders: [x-id]
      maxAge: 24h
      allowCredentials: true
  - name: old
    match: [{uri: {exact: /old}}]
    redirect: {uri: /new, redirectCode: 302}
  - directResponse: {status: 404, body: {string: "nope\\n"}}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {consistentHash: {httpCookie: {name: session, ttl: 0s}}}
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 30ms}
      http: {http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRetries: 2}
    outlierDetection: {consecutive5xxErrors: 7, consecutiveGatewayErrors: 3, interval: 5s, baseEjectionTime: 1m, maxEjectionPercent: 50}
    tls: {mode: ISTIO_MUTUAL}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy: {loadBalancer: {simple: RANDOM}}
---
apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata: {name: default, namespace: shop}
spec:
  workloadSelector: {labels: {app: productpage}}
  egress:
  - hosts: ["./*", "istio-system/*", "*/reviews.default.svc.cluster.local", "~/*.example.com"]
`;

const NO_HEADERS = { request: { set: [], add: [], remove: [] }, response: { set: [], add: [], remove: [] } };

function problemsOf(text: string, file = 'bad.yaml'): string[] {
  try {
    parseResources(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n').slice(1);
  }
  throw new Error('expected a ConfigError');
}

function isDeepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Object.isFrozen(value) && Object.values(value).every(isDeepFrozen);
}

const VS_HEAD = 'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: r}\nspec:\n  hosts: [reviews]\n  http:\n';

describe('parseResources: a full valid set', () => {
  const resources = parseResources(FULL, 'mesh.yaml');

  it('reads every kind in document order, with metadata defaults and source lines', () => {
    expect(resources.map((r) => `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
      'ServiceEntry shop/reviews', 'WorkloadEntry default/ratings-1', 'VirtualService shop/reviews',
      'DestinationRule shop/reviews', 'Sidecar shop/default',
    ]);
    expect(resources.map((r) => r.apiVersion)).toEqual([
      'networking.istio.io/v1beta1', 'networking.istio.io/v1', 'networking.istio.io/v1alpha3',
      'networking.istio.io/v1beta1', 'networking.istio.io/v1beta1',
    ]);
    expect(resources[0]!.metadata).toEqual({ name: 'reviews', namespace: 'shop', labels: { team: 'books' }, annotations: { 'example.com/owner': 'a b' } });
    expect(resources[0]!.source).toMatchObject({ file: 'mesh.yaml', line: 2 });
    expect(resources[0]!.source.fieldLines['metadata.name']).toBe(5);
    expect(resources[1]!.source.line).toBe(24);
  });

  it('reads a ServiceEntry and resolves short host names against its namespace', () => {
    const se = resources[0] as ServiceEntry;
    expect(se.spec).toEqual({
      hosts: [{ written: 'reviews', fqdn: 'reviews.shop.svc.cluster.local' }, { written: 'api.example.com', fqdn: 'api.example.com' }],
      addresses: ['10.0.0.10', '10.1.0.0/16'],
      ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }, { number: 9090, name: 'grpc', protocol: 'GRPC' }],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      endpoints: [{ address: '127.0.0.1', ports: { http: 9081 }, labels: { version: 'v1' }, serviceAccount: 'reviews', weight: 3 }],
    });
  });

  it('reads a WorkloadEntry', () => {
    expect((resources[1] as WorkloadEntry).spec).toEqual({
      address: '127.0.0.2', ports: { http: 9091 }, labels: { app: 'ratings' }, serviceAccount: 'ratings', weight: 2,
    });
  });

  it('reads a VirtualService with every route field', () => {
    const vs = resources[2] as VirtualService;
    const reviews = { written: 'reviews', fqdn: 'reviews.shop.svc.cluster.local' };
    expect(vs.spec.hosts).toEqual([reviews]);
    expect(vs.spec.gateways).toEqual(['mesh']);
    expect(vs.spec.http[0]).toEqual({
      name: 'canary',
      match: [{
        name: 'jason',
        uri: { kind: 'prefix', value: '/api' },
        method: { kind: 'exact', value: 'GET' },
        authority: { kind: 'regex', value: 'reviews(:9080)?' },
        headers: [{ name: 'end-user', match: { kind: 'exact', value: 'jason' } }],
        queryParams: [{ name: 'debug', match: { kind: 'exact', value: '1' } }],
        sourceLabels: { app: 'productpage' },
      }],
      route: [
        {
          destination: { host: reviews, subset: 'v1', port: 9080 },
          weight: 90,
          headers: { request: { set: [{ name: 'x-canary', value: 'no' }], add: [], remove: [] }, response: { set: [], add: [], remove: [] } },
        },
        { destination: { host: { written: 'reviews.shop.svc.cluster.local', fqdn: 'reviews.shop.svc.cluster.local' }, subset: 'v2' }, weight: 10, headers: NO_HEADERS },
      ],
      rewrite: { uri: '/v2/api', authority: 'reviews-v2' },
      timeoutMs: 90_000,
      retries: { attempts: 3, perTryTimeoutMs: 2000, retryOn: ['5xx', 'connect-failure', '503'] },
      fault: { delay: { percentage: 0.5, fixedDelayMs: 250 }, abort: { percentage: 1, httpStatus: 503 } },
      mirror: { host: reviews, subset: 'v3' },
      mirrorPercentage: 5,
      headers: {
        request: { set: [{ name: 'x-a', value: '1' }], add: [{ name: 'x-b', value: '2' }], remove: ['x-c'] },
        response: { set: [], add: [], remove: ['server'] },
      },
      corsPolicy: {
        allowOrigins: [{ kind: 'exact', value: 'https://example.com' }, { kind: 'regex', value: 'https://.*\\.example\\.com' }],
        allowMethods: ['GET', 'POST'],
        allowHeaders: ['x-token'],
        exposeHeaders: ['x-id'],
        maxAgeMs: 86_400_000,
        allowCredentials: true,
      },
    });
    expect(vs.spec.http[1]).toEqual({
      name: 'old', match: [{ name: '', uri: { kind: 'exact', value: '/old' }, headers: [], queryParams: [], sourceLabels: {} }],
      route: [], redirect: { uri: '/new', redirectCode: 302 }, headers: NO_HEADERS,
    });
    expect(vs.spec.http[2]).toEqual({ name: '', match: [], route: [], directResponse: { status: 404, body: 'nope\n' }, headers: NO_HEADERS });
    expect(vs.source.fieldLines['spec.http[0].route[1].destination']).toBe(54);
  });

  it('reads a DestinationRule with its traffic policy and subsets', () => {
    expect((resources[3] as DestinationRule).spec).toEqual({
      host: { written: 'reviews', fqdn: 'reviews.shop.svc.cluster.local' },
      trafficPolicy: {
        loadBalancer: { type: 'consistentHash', consistentHash: { by: 'httpCookie', name: 'session', ttlMs: 0 } },
        connectionPool: {
          tcp: { maxConnections: 100, connectTimeoutMs: 30 },
          http: { http1MaxPendingRequests: 10, http2MaxRequests: 1000, maxRetries: 2 },
        },
        outlierDetection: { consecutive5xxErrors: 7, consecutiveGatewayErrors: 3, intervalMs: 5000, baseEjectionTimeMs: 60_000, maxEjectionPercent: 50 },
        tls: { mode: 'ISTIO_MUTUAL', subjectAltNames: [] },
      },
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' }, trafficPolicy: { loadBalancer: { type: 'simple', simple: 'RANDOM' } } },
      ],
    });
  });

  it('reads a Sidecar, "." meaning its own namespace', () => {
    expect((resources[4] as Sidecar).spec).toEqual({
      workloadSelector: { labels: { app: 'productpage' } },
      egress: [{
        hosts: [
          { written: './*', namespace: 'shop', dnsName: '*' },
          { written: 'istio-system/*', namespace: 'istio-system', dnsName: '*' },
          { written: '*/reviews.default.svc.cluster.local', namespace: '*', dnsName: 'reviews.default.svc.cluster.local' },
          { written: '~/*.example.com', namespace: '~', dnsName: '*.example.com' },
        ],
      }],
    });
  });

  it('returns deep-frozen resources', () => {
    for (const r of resources) expect(isDeepFrozen(r)).toBe(true);
    const vs = resources[2] as VirtualService;
    expect(() => {
      (vs.spec.http[0]!.route[0] as { weight: number }).weight = 50;
    }).toThrow(TypeError);
  });

  it('reads JSON and skips empty documents', () => {
    const json = JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 's' }, spec: { egress: [{ hosts: ['./*'] }] } });
    expect(parseResources(json, 's.json').map((r) => r.kind)).toEqual(['Sidecar']);
    expect(parseResources('---\n# nothing\n---\n', 'empty.yaml')).toEqual([]);
  });
});

describe('parseResources: problems name the file, line and field path', () => {
  it('reports a field outside the subset', () => {
    const text = `${VS_HEAD}  - route:\n    - destination: {host: reviews, subsetz: v1}\n`;
    expect(problemsOf(text, 'reviews.yaml')).toEqual(["reviews.yaml:8: spec.http[0].route[0].destination.subsetz is not supported; did you mean 'subset'?"]);
  });

  it('reports wrong types', () => {
    const text = `${VS_HEAD}  - route:\n    - destination: {host: reviews}\n      weight: lots\n    retries: {attempts: [3]}\n`;
    expect(problemsOf(text)).toEqual([
      'bad.yaml:9: spec.http[0].route[0].weight must be an integer',
      'bad.yaml:10: spec.http[0].retries.attempts must be an integer',
    ]);
  });

  it('reports missing required fields at the map that lacks them', () => {
    const text = 'apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\nmetadata: {namespace: x}\nspec:\n  subsets:\n  - labels: {v: "1"}\n';
    expect(problemsOf(text)).toEqual([
      'bad.yaml:3: metadata.name is required',
      'bad.yaml:5: spec.host is required',
      'bad.yaml:6: spec.subsets[0].name is required',
    ]);
  });

  it('reports bad durations', () => {
    const text = `${VS_HEAD}  - route:\n    - destination: {host: reviews}\n    timeout: 10\n    retries: {attempts: 1, perTryTimeout: 2 seconds}\n`;
    expect(problemsOf(text)).toEqual([
      'bad.yaml:9: spec.http[0].timeout must be a duration with a unit, like "10s" or "10ms"',
      'bad.yaml:10: spec.http[0].retries.perTryTimeout must be a duration like "10s", "1.5s", "250ms" or "1m" (got "2 seconds")',
    ]);
    expect(problemsOf(`${VS_HEAD}  - route:\n    - destination: {host: reviews}\n    timeout: 1.5ms\n`)).toEqual([
      'bad.yaml:9: spec.http[0].timeout must be a whole number of milliseconds',
    ]);
  });

  it('reports bad enums, unknown kinds and versions, and bad gateway names', () => {
    const text = [
      'apiVersion: networking.istio.io/v2', 'kind: EnvoyFilter', 'metadata: {name: g}', 'spec: {}', '---',
      'apiVersion: networking.istio.io/v1', 'kind: ServiceEntry', 'metadata: {name: s}',
      'spec: {hosts: [a.com], ports: [{number: 80, name: h, protocol: QUIC}], resolution: DNS}', '---',
      'apiVersion: networking.istio.io/v1', 'kind: VirtualService', 'metadata: {name: v}',
      'spec: {hosts: [a.com], gateways: [mesh, Ingress_GW], http: [{route: [{destination: {host: a.com}}]}]}',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'bad.yaml:1: apiVersion must be one of networking.istio.io/v1alpha3, networking.istio.io/v1beta1, networking.istio.io/v1, security.istio.io/v1beta1, security.istio.io/v1, config.istio.io/v1alpha2, telemetry.istio.io/v1alpha1, telemetry.istio.io/v1',
      'bad.yaml:2: kind "EnvoyFilter" is not supported (supported kinds: ServiceEntry, WorkloadEntry, VirtualService, DestinationRule, Sidecar, Gateway, PeerAuthentication, AuthorizationPolicy, Telemetry, handler, instance, rule)',
      'bad.yaml:9: spec.ports[0].protocol must be one of HTTP, HTTP2, HTTPS, GRPC, GRPC-WEB, TCP, TLS, MONGO, MYSQL, REDIS (got "QUIC")',
      'bad.yaml:14: spec.gateways[1] must be "mesh", a Gateway name or "namespace/name": "Ingress_GW"',
    ]);
  });

  it('reports rule shape problems: two actions, none, and a weight out of range', () => {
    const text = `${VS_HEAD}  - route: [{destination: {host: a}, weight: 101}]\n    redirect: {uri: /x}\n  - name: empty\n`;
    expect(problemsOf(text)).toEqual([
      'bad.yaml:7: spec.http[0].route[0].weight must be between 0 and 100',
      'bad.yaml:7: spec.http[0].route cannot be used with redirect (a rule routes, redirects or responds)',
      'bad.yaml:9: spec.http[1] must set route, redirect or directResponse',
    ]);
  });

  it('reports bad host names, labels, regexes and Sidecar hosts', () => {
    const text = [
      'apiVersion: networking.istio.io/v1', 'kind: Sidecar', 'metadata: {name: s, labels: {"bad key!": x}}',
      'spec: {egress: [{hosts: [reviews, "./a..b"]}]}', '---',
      VS_HEAD + '  - match: [{uri: {regex: "(?=x)"}}]\n    route: [{destination: {host: "*"}}]',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'bad.yaml:3: metadata.labels["bad key!"] has a label key that is not a valid label name: "bad key!"',
      'bad.yaml:4: spec.egress[0].hosts[0] must be "namespace/dnsName" (like "./*" or "istio-system/*"): "reviews"',
      'bad.yaml:4: spec.egress[0].hosts[1] is not a valid host name: "a..b" (in "./a..b")',
      'bad.yaml:12: spec.http[0].match[0].uri.regex uses a lookaround assertion, which RE2 does not support',
      'bad.yaml:13: spec.http[0].route[0].destination.host must not be "*" (name the hosts)',
    ]);
  });

  it('reports ServiceEntry inconsistencies: repeated ports, endpoints with NONE, unknown endpoint port names', () => {
    const text = [
      'apiVersion: networking.istio.io/v1', 'kind: ServiceEntry', 'metadata: {name: s}', 'spec:', '  hosts: [s]',
      '  ports: [{number: 80, name: http, protocol: HTTP}, {number: 80, name: http, protocol: TCP}]',
      '  endpoints: [{address: 127.0.0.1, ports: {grpc: 81}}]',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'bad.yaml:6: spec.ports[1] repeats port name "http"',
      'bad.yaml:6: spec.ports[1] repeats port number 80',
      'bad.yaml:7: spec.endpoints are allowed only with resolution STATIC, DNS or DNS_ROUND_ROBIN',
      'bad.yaml:7: spec.endpoints[0] names port "grpc", which is not one of this ServiceEntry\'s ports',
    ]);
  });

  it('reads resolution DNS and DNS_ROUND_ROBIN with DNS-name endpoints, and names what Istio refuses', () => {
    const head = ['apiVersion: networking.istio.io/v1', 'kind: ServiceEntry', 'metadata: {name: s}', 'spec:'];
    const ok = parseResources([...head, '  hosts: [api.example.com]', '  resolution: DNS', '  ports: [{number: 443, name: https, protocol: HTTP}]',
      '  endpoints: [{address: eu.api.example.com}, {address: 10.0.0.1}]'].join('\n'), 'ok.yaml');
    expect(ok[0]!.spec).toMatchObject({ resolution: 'DNS', endpoints: [{ address: 'eu.api.example.com' }, { address: '10.0.0.1' }] });
    const text = [...head, '  hosts: ["*.example.com"]', '  resolution: DNS_ROUND_ROBIN', '  ports: [{number: 80, name: http, protocol: HTTP}]', '---',
      ...head, '  hosts: [b.example.com]', '  resolution: DNS_ROUND_ROBIN', '  ports: [{number: 80, name: http, protocol: HTTP}]',
      '  endpoints: [{address: a.example.com}, {address: "bad name"}]'].join('\n');
    expect(problemsOf(text)).toEqual([
      'bad.yaml:5: spec.hosts[0] is a wildcard; resolution DNS_ROUND_ROBIN needs endpoints to resolve a wildcard host',
      'bad.yaml:16: spec.endpoints[1].address must be an IP address or a DNS name: "bad name"',
      'bad.yaml:16: spec.endpoints list 2 endpoints; resolution DNS_ROUND_ROBIN takes at most one',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problemsOf('apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: [unclosed\n')[0]).toMatch(/^bad\.yaml:\d+: YAML: /);
  });

  it('reports every problem in a file at once, in line order, across documents', () => {
    const text = [
      'apiVersion: networking.istio.io/v1', 'kind: WorkloadEntry', 'metadata: {name: w}',
      'spec: {address: not-an-ip, weight: 0, color: blue}', '---',
      'apiVersion: networking.istio.io/v1', 'kind: DestinationRule', 'metadata: {name: d}',
      'spec:', '  host: reviews', '  trafficPolicy:', '    loadBalancer: {simple: FASTEST}', '    tls: {mode: MUTUAL}',
    ].join('\n');
    expect(problemsOf(text)).toEqual([
      'bad.yaml:4: spec.address must be an IP address (a DNS name needs the ServiceEntry\'s resolution DNS or DNS_ROUND_ROBIN): "not-an-ip"',
      'bad.yaml:4: spec.weight must be between 1 and 4294967295',
      'bad.yaml:4: spec.color is not supported',
      'bad.yaml:12: spec.trafficPolicy.loadBalancer.simple must be one of ROUND_ROBIN, LEAST_REQUEST, RANDOM',
      'bad.yaml:13: spec.trafficPolicy.tls.clientCertificate is required with mode MUTUAL',
      'bad.yaml:13: spec.trafficPolicy.tls.privateKey is required with mode MUTUAL',
    ]);
  });
});

describe('loadResourceDir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-resources-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads *.yaml, *.yml and *.json in name order and ignores other files', async () => {
    const sidecar = (name: string) => `apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: ${name}}\nspec: {egress: [{hosts: ["./*"]}]}\n`;
    writeFileSync(join(dir, 'b.yml'), sidecar('b'));
    writeFileSync(join(dir, 'a.yaml'), sidecar('a'));
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'c' }, spec: { egress: [{ hosts: ['./*'] }] } }));
    writeFileSync(join(dir, 'notes.txt'), 'not config');
    expect((await loadResourceDir(dir)).map((r) => r.metadata.name)).toEqual(['a', 'b', 'c']);
  });

  it('reports the problems of every file together', async () => {
    writeFileSync(join(dir, 'd.yaml'), 'apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: d}\nspec: {egress: [{hosts: ["./*"], port: 1}]}\n');
    writeFileSync(join(dir, 'e.yaml'), 'kind: Sidecar\n');
    const err = await loadResourceDir(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => `${p.file.slice(dir.length + 1)}:${p.line}: ${p.message}`)).toEqual([
      'd.yaml:4: spec.egress[0].port is not supported',
      'e.yaml:1: apiVersion is required',
      'e.yaml:1: metadata is required',
      'e.yaml:1: spec is required',
    ]);
  });

  it('reports a missing folder', async () => {
    await expect(loadResourceDir(join(dir, 'nope'))).rejects.toThrow(/nope: cannot read the folder: ENOENT/);
  });
});
