import { describe, expect, it } from 'vitest';
import type { RedirectAction, Route, RouteConfig } from '../../src/config/bootstrap-types.js';
import { parseBootstrap } from '../../src/config/parse-bootstrap.js';
import { RouteTable, redirectLocation, rewritePath, type RequestView } from '../../src/routing/route-table.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** Builds a RouteConfig the way users write it: through the real parser. */
function routeConfig(routeConfigYaml: string, clusters = ['a', 'b', 'c']): RouteConfig {
  const indented = routeConfigYaml.trim().split('\n').map((l) => ' '.repeat(18) + l).join('\n');
  const text = `
static_resources:
  listeners:
    - name: l
      address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": ${HCM}
                stat_prefix: t
                route_config:
${indented}
  clusters:
${clusters.map((c) => `    - name: ${c}\n      load_assignment: { cluster_name: ${c}, endpoints: [] }`).join('\n')}
`;
  return parseBootstrap(text, 'test.yaml').listeners[0]!.routeConfig;
}

/** A table with one catch-all virtual host holding `routes` (YAML list items). */
function tableOf(routesYaml: string): RouteTable {
  const routes = routesYaml.trim().split('\n').map((l) => `      ${l}`).join('\n');
  return RouteTable.compile(routeConfig(`virtual_hosts:\n  - name: vh\n    domains: ["*"]\n    routes:\n${routes}`));
}

function req(path: string, opts: Partial<RequestView> = {}): RequestView {
  return { method: 'GET', path, query: '', authority: 'example.com', headers: [], ...opts };
}

/** Name of the matched route, or null for no route (404 NR). */
function routeName(table: RouteTable, r: RequestView): string | null {
  const hit = table.match(r);
  return hit === null ? null : hit.route.name;
}

describe('path matching', () => {
  const table = tableOf(`
- { name: exact, match: { path: /exact }, route: { cluster: a } }
- { name: exact-ci, match: { path: /Exact-CI, case_sensitive: false }, route: { cluster: a } }
- { name: regex, match: { safe_regex: { regex: "/users/[0-9]+" } }, route: { cluster: a } }
- { name: prefix-ci, match: { prefix: /Api/, case_sensitive: false }, route: { cluster: a } }
- { name: prefix, match: { prefix: /static }, route: { cluster: a } }
`);

  it('matches an exact path, case-sensitively by default', () => {
    expect(routeName(table, req('/exact'))).toBe('exact');
    expect(routeName(table, req('/Exact'))).toBeNull();
    expect(routeName(table, req('/exact/more'))).toBeNull();
  });

  it('matches a path or prefix ignoring case when case_sensitive is false', () => {
    expect(routeName(table, req('/exact-ci'))).toBe('exact-ci');
    expect(routeName(table, req('/EXACT-CI'))).toBe('exact-ci');
    expect(routeName(table, req('/API/v1'))).toBe('prefix-ci');
    expect(routeName(table, req('/api/v1'))).toBe('prefix-ci');
  });

  it('matches a prefix case-sensitively by default', () => {
    expect(routeName(table, req('/static/app.js'))).toBe('prefix');
    expect(routeName(table, req('/staticfile'))).toBe('prefix');
    expect(routeName(table, req('/Static/app.js'))).toBeNull();
  });

  it('requires a regex to match the whole path, never the query', () => {
    expect(routeName(table, req('/users/42'))).toBe('regex');
    expect(routeName(table, req('/users/42/x'))).toBeNull();
    expect(routeName(table, req('/v/users/42'))).toBeNull();
    expect(routeName(table, req('/users/42', { query: 'x=1' }))).toBe('regex');
  });

  it('tries routes in order: the first match wins', () => {
    const ordered = tableOf(`
- { name: first, match: { prefix: / }, route: { cluster: a } }
- { name: second, match: { path: /x }, route: { cluster: b } }
`);
    expect(routeName(ordered, req('/x'))).toBe('first');
  });
});

describe('header matchers', () => {
  const table = tableOf(`
- name: exact
  match: { prefix: /exact, headers: [{ name: X-Env, exact_match: prod }] }
  route: { cluster: a }
- name: prefix
  match: { prefix: /prefix, headers: [{ name: x-v, prefix_match: v1. }] }
  route: { cluster: a }
- name: suffix
  match: { prefix: /suffix, headers: [{ name: x-v, suffix_match: -beta }] }
  route: { cluster: a }
- name: contains
  match: { prefix: /contains, headers: [{ name: user-agent, contains_match: Mobile }] }
  route: { cluster: a }
- name: regex
  match: { prefix: /regex, headers: [{ name: x-id, safe_regex_match: { regex: "[0-9]{3}" } }] }
  route: { cluster: a }
- name: string-match-ci
  match: { prefix: /ci, headers: [{ name: x-v, string_match: { exact: CANARY, ignore_case: true } }] }
  route: { cluster: a }
- name: present
  match: { prefix: /present, headers: [{ name: x-debug, present_match: true }] }
  route: { cluster: a }
- name: absent
  match: { prefix: /absent, headers: [{ name: x-debug, present_match: false }] }
  route: { cluster: a }
- name: name-only
  match: { prefix: /name-only, headers: [{ name: x-debug }] }
  route: { cluster: a }
- name: inverted
  match: { prefix: /inverted, headers: [{ name: x-env, exact_match: prod, invert_match: true }] }
  route: { cluster: a }
- name: inverted-present
  match: { prefix: /inv-present, headers: [{ name: x-debug, present_match: true, invert_match: true }] }
  route: { cluster: a }
- name: method
  match: { prefix: /method, headers: [{ name: ":method", exact_match: POST }] }
  route: { cluster: a }
- name: all-of
  match: { prefix: /all, headers: [{ name: x-a, exact_match: "1" }, { name: x-b, exact_match: "2" }] }
  route: { cluster: a }
`);
  const with_ = (path: string, ...headers: string[]) => routeName(table, req(path, { headers }));

  it('exact, prefix, suffix and contains', () => {
    expect(with_('/exact', 'x-env', 'prod')).toBe('exact');
    expect(with_('/exact', 'x-env', 'Prod')).toBeNull();
    expect(with_('/exact')).toBeNull();
    expect(with_('/prefix', 'x-v', 'v1.2')).toBe('prefix');
    expect(with_('/prefix', 'x-v', 'v2.1')).toBeNull();
    expect(with_('/suffix', 'x-v', '3-beta')).toBe('suffix');
    expect(with_('/suffix', 'x-v', 'beta-3')).toBeNull();
    expect(with_('/contains', 'user-agent', 'a Mobile b')).toBe('contains');
    expect(with_('/contains', 'user-agent', 'desktop')).toBeNull();
  });

  it('regex must match the whole value', () => {
    expect(with_('/regex', 'x-id', '123')).toBe('regex');
    expect(with_('/regex', 'x-id', '1234')).toBeNull();
  });

  it('string_match with ignore_case', () => {
    expect(with_('/ci', 'x-v', 'canary')).toBe('string-match-ci');
    expect(with_('/ci', 'x-v', 'CaNaRy')).toBe('string-match-ci');
    expect(with_('/ci', 'x-v', 'canaryx')).toBeNull();
  });

  it('present_match true and false, and a name alone meaning present', () => {
    expect(with_('/present', 'x-debug', '')).toBe('present');
    expect(with_('/present')).toBeNull();
    expect(with_('/absent')).toBe('absent');
    expect(with_('/absent', 'x-debug', '1')).toBeNull();
    expect(with_('/name-only', 'x-debug', '1')).toBe('name-only');
    expect(with_('/name-only')).toBeNull();
  });

  it('invert_match inverts a value match but an absent header still fails', () => {
    expect(with_('/inverted', 'x-env', 'dev')).toBe('inverted');
    expect(with_('/inverted', 'x-env', 'prod')).toBeNull();
    expect(with_('/inverted')).toBeNull();
    expect(with_('/inv-present')).toBe('inverted-present');
    expect(with_('/inv-present', 'x-debug', '1')).toBeNull();
  });

  it('joins repeated headers with "," before matching', () => {
    expect(with_('/exact', 'x-env', 'prod', 'x-env', 'dev')).toBeNull();
    expect(with_('/suffix', 'x-v', 'a', 'x-v', 'b-beta')).toBe('suffix');
    expect(with_('/regex', 'x-id', '1', 'x-id', '2')).toBeNull();
    const joined = tableOf(`
- { name: j, match: { prefix: /, headers: [{ name: x-v, exact_match: "a,b" }] }, route: { cluster: a } }
`);
    expect(routeName(joined, req('/', { headers: ['x-v', 'a', 'other', 'z', 'x-v', 'b'] }))).toBe('j');
  });

  it('pseudo-header :method, and all matchers of a route must hold', () => {
    expect(routeName(table, req('/method', { method: 'POST' }))).toBe('method');
    expect(routeName(table, req('/method'))).toBeNull();
    expect(with_('/all', 'x-a', '1', 'x-b', '2')).toBe('all-of');
    expect(with_('/all', 'x-a', '1')).toBeNull();
  });
});

describe('query parameter matchers', () => {
  const table = tableOf(`
- name: exact
  match: { prefix: /q, query_parameters: [{ name: v, string_match: { exact: "2" } }] }
  route: { cluster: a }
- name: present
  match: { prefix: /q, query_parameters: [{ name: debug, present_match: true }] }
  route: { cluster: a }
- name: regex-decoded
  match: { prefix: /r, query_parameters: [{ name: q, string_match: { safe_regex: { regex: "a b/c" } } }] }
  route: { cluster: a }
- name: fallback
  match: { prefix: / }
  route: { cluster: b }
`);
  const withQuery = (path: string, query: string) => routeName(table, req(path, { query }));

  it('string_match against the first value of a parameter', () => {
    expect(withQuery('/q', 'v=2')).toBe('exact');
    expect(withQuery('/q', 'a=1&v=2')).toBe('exact');
    expect(withQuery('/q', 'v=2&v=3')).toBe('exact');
    expect(withQuery('/q', 'v=3&v=2')).toBe('fallback');
    expect(withQuery('/q', 'vv=2')).toBe('fallback');
  });

  it('present_match, with or without a value', () => {
    expect(withQuery('/q', 'debug')).toBe('present');
    expect(withQuery('/q', 'x=1&debug=')).toBe('present');
    expect(withQuery('/q', '')).toBe('fallback');
  });

  it('matches decoded values', () => {
    expect(withQuery('/r', 'q=a+b%2Fc')).toBe('regex-decoded');
    expect(withQuery('/r', 'q=a%20b/c')).toBe('regex-decoded');
    expect(withQuery('/r', 'q=%zz')).toBe('fallback');
  });
});

describe('virtual host selection', () => {
  const table = RouteTable.compile(routeConfig(`
virtual_hosts:
  - name: exact
    domains: [api.example.com, "api.example.com:8443", web.test]
    routes: [{ name: exact, match: { prefix: / }, route: { cluster: a } }]
  - name: short-suffix
    domains: ["*.example.com"]
    routes: [{ name: short-suffix, match: { prefix: / }, route: { cluster: a } }]
  - name: long-suffix
    domains: ["*-bar.example.com"]
    routes: [{ name: long-suffix, match: { prefix: / }, route: { cluster: a } }]
  - name: prefix
    domains: ["api.*", "api.example.*"]
    routes: [{ name: prefix, match: { prefix: / }, route: { cluster: a } }]
  - name: default
    domains: ["*"]
    routes: [{ name: default, match: { prefix: / }, route: { cluster: a } }]
`));
  const host = (authority: string) => routeName(table, req('/', { authority }));

  it('prefers an exact domain, then the longest suffix wildcard, then a prefix wildcard, then "*"', () => {
    expect(host('api.example.com')).toBe('exact');
    expect(host('foo-bar.example.com')).toBe('long-suffix');
    expect(host('foo.example.com')).toBe('short-suffix');
    expect(host('api.example.org')).toBe('prefix');
    expect(host('other.test')).toBe('default');
  });

  it('never lets a wildcard match an empty part', () => {
    expect(host('-bar.example.com')).toBe('short-suffix');
    expect(host('.example.com')).toBe('default');
    expect(host('api.')).toBe('default');
  });

  it('matches the authority with its port first, then without it', () => {
    expect(host('api.example.com:8443')).toBe('exact');
    // With its port the authority already matches the prefix wildcard "api.*": no second lookup.
    expect(host('api.example.com:80')).toBe('prefix');
    expect(host('web.test:80')).toBe('exact');
    expect(host('foo.example.com:80')).toBe('short-suffix');
    expect(host('other.test:80')).toBe('default');
  });

  it('returns null (404) when no virtual host matches', () => {
    const noDefault = RouteTable.compile(routeConfig(`
virtual_hosts:
  - name: only
    domains: ["[::1]", "*.internal"]
    routes: [{ name: only, match: { prefix: / }, route: { cluster: a } }]
`));
    expect(noDefault.match(req('/', { authority: 'example.com' }))).toBeNull();
    expect(routeName(noDefault, req('/', { authority: '[::1]:8080' }))).toBe('only');
    expect(routeName(noDefault, req('/', { authority: 'x.internal:1' }))).toBe('only');
  });
});

describe('pickCluster', () => {
  const table = tableOf(`
- name: split
  match: { prefix: /split }
  route: { weighted_clusters: { clusters: [{ name: a, weight: 80 }, { name: b, weight: 15 }, { name: c, weight: 5 }] } }
- { name: single, match: { prefix: /single }, route: { cluster: c } }
- { name: direct, match: { prefix: / }, direct_response: { status: 200 } }
`);

  it('splits r in [0,1) by cumulative weight', () => {
    const split = table.match(req('/split'))!;
    expect(split.pickCluster(0)).toBe('a');
    expect(split.pickCluster(0.7999)).toBe('a');
    expect(split.pickCluster(0.8)).toBe('b');
    expect(split.pickCluster(0.9499)).toBe('b');
    expect(split.pickCluster(0.95)).toBe('c');
    expect(split.pickCluster(0.999999)).toBe('c');
    const counts = { a: 0, b: 0, c: 0 } as Record<string, number>;
    const n = 10_000;
    for (let i = 0; i < n; i++) counts[split.pickCluster((i + 0.5) / n)]!++;
    expect(counts).toEqual({ a: 8000, b: 1500, c: 500 });
  });

  it('returns the one cluster of a plain route and "" for other actions', () => {
    expect(table.match(req('/single'))!.pickCluster(0.5)).toBe('c');
    expect(table.match(req('/'))!.pickCluster(0.5)).toBe('');
  });
});

describe('header mutations', () => {
  it('merges route, then virtual host, then route config', () => {
    const table = RouteTable.compile(routeConfig(`
request_headers_to_add: [{ header: { key: x-level, value: config }, append: false }]
request_headers_to_remove: [x-drop-config, x-drop-shared]
response_headers_to_add: [{ header: { key: x-r, value: config } }]
response_headers_to_remove: [server]
virtual_hosts:
  - name: vh
    domains: ["*"]
    request_headers_to_add: [{ header: { key: x-level, value: vhost }, append: false }]
    request_headers_to_remove: [x-drop-vhost, x-drop-shared]
    response_headers_to_add: [{ header: { key: x-r, value: vhost }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }]
    routes:
      - name: r
        match: { prefix: / }
        route: { cluster: a }
        request_headers_to_add: [{ header: { key: X-Level, value: route } }]
        request_headers_to_remove: [x-drop-route]
        response_headers_to_add: [{ header: { key: x-r, value: route } }]
`));
    const hit = table.match(req('/'))!;
    expect(hit.requestHeadersToAdd).toEqual([
      { key: 'x-level', value: 'route', append: true },
      { key: 'x-level', value: 'vhost', append: false },
      { key: 'x-level', value: 'config', append: false },
    ]);
    expect(hit.requestHeadersToRemove).toEqual(['x-drop-route', 'x-drop-vhost', 'x-drop-shared', 'x-drop-config']);
    expect(hit.responseHeadersToAdd.map((h) => h.value)).toEqual(['route', 'vhost', 'config']);
    expect(hit.responseHeadersToRemove).toEqual(['server']);
    expect(hit.virtualHost.name).toBe('vh');
  });
});

describe('redirectLocation', () => {
  function redirectFor(redirectYaml: string, match = '{ prefix: /old/ }'): { action: RedirectAction; table: RouteTable } {
    const table = tableOf(`- { name: r, match: ${match}, redirect: ${redirectYaml} }`);
    return { action: table.match(req('/old/page'))?.route.action as RedirectAction, table };
  }
  const request = req('/old/page', { query: 'a=1', authority: 'site.test:8080' });

  it('keeps scheme, host, port, path and query by default', () => {
    expect(redirectLocation(redirectFor('{}').action, request, 'http')).toBe('http://site.test:8080/old/page?a=1');
  });

  it('scheme_redirect and https_redirect', () => {
    expect(redirectLocation(redirectFor('{ scheme_redirect: HTTPS }').action, request, 'http')).toBe('https://site.test:8080/old/page?a=1');
    expect(redirectLocation(redirectFor('{ https_redirect: true }').action, req('/old/page', { authority: 'site.test:80' }), 'http'))
      .toBe('https://site.test/old/page');
  });

  it('host_redirect and port_redirect', () => {
    expect(redirectLocation(redirectFor('{ host_redirect: other.test }').action, request, 'http')).toBe('http://other.test/old/page?a=1');
    expect(redirectLocation(redirectFor('{ port_redirect: 9090 }').action, request, 'http')).toBe('http://site.test:9090/old/page?a=1');
    expect(redirectLocation(redirectFor('{ host_redirect: other.test, port_redirect: 9090 }').action, request, 'http'))
      .toBe('http://other.test:9090/old/page?a=1');
  });

  it('path_redirect keeps the query unless it has its own; strip_query drops it', () => {
    expect(redirectLocation(redirectFor('{ path_redirect: /new }').action, request, 'http')).toBe('http://site.test:8080/new?a=1');
    expect(redirectLocation(redirectFor('{ path_redirect: "/new?b=2" }').action, request, 'http')).toBe('http://site.test:8080/new?b=2');
    expect(redirectLocation(redirectFor('{ path_redirect: /new, strip_query: true }').action, request, 'http')).toBe('http://site.test:8080/new');
    expect(redirectLocation(redirectFor('{ strip_query: true }').action, request, 'http')).toBe('http://site.test:8080/old/page');
  });

  it('prefix_rewrite replaces the matched prefix', () => {
    const { action } = redirectFor('{ prefix_rewrite: /new/, response_code: TEMPORARY_REDIRECT }');
    expect(action.responseCode).toBe(307);
    expect(redirectLocation(action, request, 'http')).toBe('http://site.test:8080/new/page?a=1');
    const exact = redirectFor('{ prefix_rewrite: /moved }', '{ path: /old/page }').action;
    expect(redirectLocation(exact, request, 'http')).toBe('http://site.test:8080/moved?a=1');
  });
});

describe('rewritePath', () => {
  const table = tableOf(`
- { name: prefix, match: { prefix: /api/ }, route: { cluster: a, prefix_rewrite: / } }
- { name: path, match: { path: /exact }, route: { cluster: a, prefix_rewrite: /other } }
- { name: regex, match: { safe_regex: { regex: "/r/.*" } }, route: { cluster: a, prefix_rewrite: /re } }
- { name: ci, match: { prefix: /CI/, case_sensitive: false }, route: { cluster: a, prefix_rewrite: /ci-new/ } }
`);
  const rewrite = (path: string) => {
    const route: Route = table.match(req(path))!.route;
    const action = route.action;
    if (action.type !== 'route' || action.prefixRewrite === null) throw new Error('no rewrite');
    return rewritePath(route, path, action.prefixRewrite);
  };

  it('replaces the matched prefix, or the whole path for path and regex matches', () => {
    expect(rewrite('/api/users/1')).toBe('/users/1');
    expect(rewrite('/api/')).toBe('/');
    expect(rewrite('/exact')).toBe('/other');
    expect(rewrite('/r/anything')).toBe('/re');
    expect(rewrite('/ci/x')).toBe('/ci-new/x');
  });
});

describe('compile', () => {
  it('does not depend on the config after compiling (frozen input is fine)', () => {
    const config = routeConfig(`
virtual_hosts:
  - name: vh
    domains: ["*"]
    routes: [{ name: r, match: { prefix: / }, route: { cluster: a } }]
`);
    expect(Object.isFrozen(config)).toBe(true);
    const a = RouteTable.compile(config);
    const b = RouteTable.compile(config);
    expect(a.match(req('/'))!.route).toBe(b.match(req('/'))!.route);
  });
});
