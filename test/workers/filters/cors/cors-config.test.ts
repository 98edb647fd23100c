// The CORS policy as compiled for a route (route over virtual host, per
// attribute) and its answers on real parsed heads: origin checks and their
// counters, the preflight headers, and the response headers.
import { describe, expect, it } from 'vitest';
import type { CorsPolicy } from '../../../../src/config/bootstrap-types.js';
import { CompiledCors } from '../../../../workers/filters/cors/cors-config.js';
import { ListenerFilterStats } from '../../../../workers/http-filter-stats.js';
import { parseRequest } from '../../../native/parse-helpers.js';

function policy(p: Partial<CorsPolicy>): CorsPolicy {
  return {
    allowOriginStringMatch: [],
    allowMethods: null,
    allowHeaders: null,
    exposeHeaders: null,
    maxAge: null,
    allowCredentials: null,
    allowPrivateNetworkAccess: false,
    filterEnabled: 1,
    ...p,
  };
}

function head(method: string, headers: Record<string, string>): { buf: Buffer; out: Uint32Array } {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const p = parseRequest(`${method} /x HTTP/1.1\r\nhost: svc\r\n${lines}\r\n`);
  expect(p.result).toBeGreaterThan(0);
  return { buf: p.buf, out: p.out };
}

const exampleOrigins = {
  allowOriginStringMatch: [
    { kind: 'exact', value: 'https://app.example.com', ignoreCase: false },
    { kind: 'suffix', value: '.trusted.org', ignoreCase: true },
  ],
} as const satisfies Partial<CorsPolicy>;

describe('CORS origins', () => {
  it('allows origins the string matchers accept and counts valid / invalid (not requests without Origin)', () => {
    const stats = new ListenerFilterStats('in');
    const cors = new CompiledCors([policy(exampleOrigins)], stats);
    const check = (origin: string | null) => {
      const { buf, out } = head('GET', origin === null ? {} : { origin });
      return cors.checkOrigin(buf, out);
    };
    expect(check('https://app.example.com')).toBe('https://app.example.com');
    expect(check('https://a.TRUSTED.org')).toBe('https://a.TRUSTED.org');
    expect(check('https://evil.example.com')).toBeNull();
    expect(check(null)).toBeNull();
    expect(stats).toMatchObject({ corsOriginValid: 2, corsOriginInvalid: 1 });
  });

  it('a matcher that accepts "*" allows every origin (Envoy matches the literal "*" too)', () => {
    const cors = new CompiledCors([policy({ allowOriginStringMatch: [{ kind: 'exact', value: '*', ignoreCase: false }] })], new ListenerFilterStats('in'));
    expect(cors.isOriginAllowed('https://anything.test')).toBe(true);
  });

  it('with filter_enabled rolled off, does nothing and counts nothing', () => {
    const stats = new ListenerFilterStats('in');
    let r = 0.7;
    const cors = new CompiledCors([policy({ ...exampleOrigins, filterEnabled: 0.5 })], stats, () => r);
    const { buf, out } = head('GET', { origin: 'https://app.example.com' });
    expect(cors.checkOrigin(buf, out)).toBeNull();
    r = 0.2;
    expect(cors.checkOrigin(buf, out)).toBe('https://app.example.com');
    expect(stats.corsOriginValid).toBe(1);
  });
});

describe('CORS shadow_enabled', () => {
  it('where the filter is off and shadow is on, checks and counts the origin but allows nothing', () => {
    const stats = new ListenerFilterStats('in');
    const cors = new CompiledCors([policy({ ...exampleOrigins, filterEnabled: 0, shadowEnabled: 1 })], stats);
    const good = head('GET', { origin: 'https://app.example.com' });
    const bad = head('OPTIONS', { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' });
    expect(cors.checkOrigin(good.buf, good.out)).toBeNull();
    expect(cors.checkOrigin(bad.buf, bad.out)).toBeNull();
    expect(stats).toMatchObject({ corsOriginValid: 1, corsOriginInvalid: 1 });
  });

  it('an enabled filter enforces whatever shadow_enabled says', () => {
    const stats = new ListenerFilterStats('in');
    const cors = new CompiledCors([policy({ ...exampleOrigins, filterEnabled: 1, shadowEnabled: 1 })], stats);
    const { buf, out } = head('GET', { origin: 'https://app.example.com' });
    expect(cors.checkOrigin(buf, out)).toBe('https://app.example.com');
    expect(stats.corsOriginValid).toBe(1);
  });
});

describe('CORS preflight', () => {
  const full = policy({
    ...exampleOrigins,
    allowMethods: 'GET, POST, PUT',
    allowHeaders: 'content-type, x-token',
    exposeHeaders: 'x-trace',
    maxAge: '600',
    allowCredentials: true,
    allowPrivateNetworkAccess: true,
  });

  it('answers 200 with the policy headers (origin, credentials and expose come with every response)', () => {
    const cors = new CompiledCors([full], new ListenerFilterStats('in'));
    const { buf, out } = head('OPTIONS', {
      origin: 'https://app.example.com',
      'access-control-request-method': 'PUT',
      'access-control-request-private-network': 'true',
    });
    expect(cors.preflight(buf, out)).toEqual({
      status: 200,
      body: '',
      headers:
        'access-control-allow-methods: GET, POST, PUT\r\naccess-control-allow-headers: content-type, x-token\r\n' +
        'access-control-max-age: 600\r\naccess-control-allow-private-network: true\r\n',
      flag: 0,
    });
    expect(cors.responseHeaders('https://app.example.com')).toBe(
      'access-control-allow-origin: https://app.example.com\r\naccess-control-allow-credentials: true\r\naccess-control-expose-headers: x-trace\r\n',
    );
    expect(cors.responseNames).toEqual(['access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers']);
  });

  it('echoes the requested method and headers for "*", and leaves out private network unless asked', () => {
    const cors = new CompiledCors([policy({ ...exampleOrigins, allowMethods: '*', allowHeaders: '*' })], new ListenerFilterStats('in'));
    const { buf, out } = head('OPTIONS', {
      origin: 'https://app.example.com',
      'access-control-request-method': 'DELETE',
      'access-control-request-headers': 'x-a, x-b',
    });
    expect(cors.preflight(buf, out)?.headers).toBe('access-control-allow-methods: DELETE\r\naccess-control-allow-headers: x-a, x-b\r\n');
    expect(cors.responseHeaders('o')).toBe('access-control-allow-origin: o\r\n');
  });

  it('an OPTIONS without Access-Control-Request-Method is not a preflight', () => {
    const cors = new CompiledCors([full], new ListenerFilterStats('in'));
    const { buf, out } = head('OPTIONS', { origin: 'https://app.example.com' });
    expect(cors.preflight(buf, out)).toBeNull();
  });
});

describe('CORS policy merge', () => {
  it('takes each attribute from the most specific policy that sets it; filter_enabled from the most specific', () => {
    const route = policy({ allowMethods: 'GET', filterEnabled: 0 });
    const vhost = policy({ ...exampleOrigins, allowMethods: 'POST', maxAge: '30', allowCredentials: false });
    const cors = new CompiledCors([route, vhost], new ListenerFilterStats('in'));
    expect(cors.allowMethods).toBe('GET');
    expect(cors.maxAge).toBe('30');
    expect(cors.allowCredentials).toBe(false);
    expect(cors.isOriginAllowed('https://app.example.com')).toBe(true);
    expect(cors.filterEnabled).toBe(0);
    expect(cors.enabled()).toBe(false);
  });
});
