// Config text that ends up in an HTTP head (rewrites, redirects, header
// values, CORS lists, health-check and cookie paths): CR, LF, NUL and other
// characters that would split or cut a head are refused where config is read,
// with the file, line and path; a Location composed anyway is never returned.
import { describe, expect, it } from 'vitest';
import type { RedirectAction } from '../../src/config/bootstrap-types.js';
import { isFieldValueSafe, isRequestTargetSafe, isUriTextSafe } from '../../src/config/head-text.js';
import { redirectLocation } from '../../src/routing/route-table.js';
import { bootstrapText, lineOf, parseParts, problemLines, type Parts } from './bootstrap-text.js';

const R = 'virtual host "web" › routes[0]';
const INJECTED = 'x\r\nx-injected: 1';

/** The one problem of parts, as `line: message`; the line is where `marker` first appears. */
function oneProblem(parts: Parts, marker: string): string {
  const problems = problemLines(parts);
  expect(problems).toHaveLength(1);
  const text = bootstrapText(parts);
  expect(problems[0]).toContain(`b.yaml:${lineOf(text, marker)}: `);
  return problems[0]!;
}

describe('route action rewrites', () => {
  it('refuses CR/LF in host_rewrite_literal and prefix_rewrite, naming the field', () => {
    expect(oneProblem({ action: { host_rewrite_literal: INJECTED } }, 'host_rewrite_literal'))
      .toContain(`${R}.route.host_rewrite_literal must be printable ASCII with no spaces or control characters (it contains CR)`);
    expect(oneProblem({ action: { prefix_rewrite: '/a\nx-injected: 1' } }, 'prefix_rewrite'))
      .toContain(`${R}.route.prefix_rewrite must be printable ASCII with no spaces or control characters (it contains LF)`);
    expect(oneProblem({ action: { prefix_rewrite: '/a\0b' } }, 'prefix_rewrite')).toContain('(it contains NUL)');
  });

  it('refuses a space (request-line splitting) and a character that loses its high byte (U+010A becomes LF)', () => {
    expect(oneProblem({ action: { prefix_rewrite: '/a HTTP/1.1' } }, 'prefix_rewrite')).toContain('(it contains a space)');
    expect(oneProblem({ action: { host_rewrite_literal: 'a\u010ax-injected: 1' } }, 'host_rewrite_literal')).toContain('(it contains U+010A)');
  });

  it('still reads ordinary rewrites', () => {
    const action = parseParts({ action: { prefix_rewrite: '/v2/%20x', host_rewrite_literal: 'api.example.com:8080' } })
      .listeners[0]!.routeConfig.virtualHosts[0]!.routes[0]!.action;
    expect(action).toMatchObject({ prefixRewrite: '/v2/%20x', hostRewriteLiteral: 'api.example.com:8080' });
  });
});

describe('redirect action', () => {
  const redirect = (fields: Record<string, unknown>): Parts => ({ route: { route: undefined, redirect: fields } });

  it('refuses CR/LF in host_redirect, path_redirect and prefix_rewrite', () => {
    expect(oneProblem(redirect({ host_redirect: INJECTED }), 'host_redirect')).toContain(`${R}.redirect.host_redirect must be printable ASCII`);
    expect(oneProblem(redirect({ path_redirect: `/${INJECTED}` }), 'path_redirect')).toContain(`${R}.redirect.path_redirect must be printable ASCII`);
    expect(oneProblem(redirect({ prefix_rewrite: `/${INJECTED}` }), 'prefix_rewrite')).toContain(`${R}.redirect.prefix_rewrite must be printable ASCII`);
  });

  it('refuses a scheme_redirect that is not a scheme', () => {
    expect(oneProblem(redirect({ scheme_redirect: 'https\r\nx: 1' }), 'scheme_redirect')).toContain(`${R}.redirect.scheme_redirect is not a valid URL scheme`);
  });
});

describe('header values', () => {
  it('refuses control characters in response_headers_to_add (direct responses carry them too)', () => {
    const parts: Parts = {
      route: { route: undefined, direct_response: { status: 200 }, response_headers_to_add: [{ header: { key: 'x-a', value: 'a\u0001b' } }] },
    };
    expect(oneProblem(parts, 'value: "a')).toContain(`${R}.response_headers_to_add[0].header.value must not contain CR, LF, NUL, other control characters (it contains U+0001)`);
  });

  it('refuses U+010A in a CORS list, which is written one byte per character', () => {
    const parts: Parts = { vhost: { cors: { allow_methods: 'GET\u010aX-Injected: 1' } } };
    expect(oneProblem(parts, 'allow_methods')).toContain('allow_methods must not contain CR, LF, NUL, other control characters or characters above U+00FF (it contains U+010A)');
  });

  it('refuses U+010A in a hash-policy cookie path (written into Set-Cookie)', () => {
    const parts: Parts = { cluster: { lb_policy: 'RING_HASH' }, action: { hash_policy: [{ cookie: { name: 's', ttl: '10s', path: '/\u010ax' } }] } };
    expect(oneProblem(parts, 'path: ')).toContain('hash_policy[0].cookie.path must be printable ASCII');
  });

  it('refuses U+010A in a health-check path', () => {
    const parts: Parts = {
      cluster: {
        health_checks: [{ timeout: '1s', interval: '1s', unhealthy_threshold: 1, healthy_threshold: 1, http_health_check: { path: '/h\u010ax' } }],
      },
    };
    expect(oneProblem(parts, 'path: ')).toContain('http_health_check.path must be printable ASCII');
  });
});

describe('head checks before writing (the second wall)', () => {
  it('classifies text', () => {
    expect(isUriTextSafe('/a/b?c=%0D')).toBe(true);
    expect(isUriTextSafe('/a b')).toBe(false);
    expect(isFieldValueSafe('a\tb é')).toBe(true);
    for (const bad of ['a\rb', 'a\nb', 'a\0b', 'a\u010ab', 'a\u007fb']) expect(isFieldValueSafe(bad)).toBe(false);
    expect(isRequestTargetSafe('/caf\u00e9')).toBe(true);
    expect(isRequestTargetSafe('/a b')).toBe(false);
  });

  it('redirectLocation returns null rather than a Location that would split the head', () => {
    // As a reader bug or a future field would hand it over: the readers refuse this text.
    const action: RedirectAction = {
      type: 'redirect', schemeRedirect: null, hostRedirect: INJECTED, portRedirect: null, pathRedirect: null,
      prefixRewrite: null, responseCode: 301, stripQuery: false,
    };
    const request = { method: 'GET', path: '/p', query: '', authority: 'site.test', headers: [] };
    expect(redirectLocation(action, request, 'http')).toBeNull();
    expect(redirectLocation({ ...action, hostRedirect: 'other.test' }, request, 'http')).toBe('http://other.test/p');
  });
});
