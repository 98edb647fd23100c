// Path normalization as Envoy's HTTP connection manager does it. The vectors
// are those Istio's integration test checks through Envoy for each of its
// meshConfig.pathNormalization settings (tests/integration/security/
// normalization_test.go), plus Chromium canonicalizer edge cases.
import { describe, expect, it } from 'vitest';
import type { PathNormalization } from '../../src/config/bootstrap-types.js';
import {
  canonicalPath, mergeSlashes, normalizeRequestPath, PATH_FORWARD, PATH_REDIRECT, PATH_REJECT, pathMayChange,
} from '../../src/routing/path-normalization.js';

const BASE: PathNormalization = { normalizePath: true, mergeSlashes: false, escapedSlashes: 'KEEP_UNCHANGED' };
const MERGE: PathNormalization = { ...BASE, mergeSlashes: true };
const DECODE_AND_MERGE: PathNormalization = { ...MERGE, escapedSlashes: 'UNESCAPE_AND_FORWARD' };
const NONE: PathNormalization = { normalizePath: false, mergeSlashes: false, escapedSlashes: 'KEEP_UNCHANGED' };

function normalized(path: string, config: PathNormalization): string | number {
  const result = { path: '' };
  const verdict = normalizeRequestPath(path, config, result);
  return verdict === PATH_FORWARD ? result.path : verdict;
}

describe("Istio's normalization vectors", () => {
  const cases: [string, string, string, string][] = [
    // input, BASE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES
    ['/', '/', '/', '/'],
    ['/app/', '/app/', '/app/', '/app/'],
    ['/app/../admin', '/admin', '/admin', '/admin'],
    ['/app', '/app', '/app', '/app'],
    ['/app//', '/app//', '/app/', '/app/'],
    ['/app/%2f', '/app/%2f', '/app/%2f', '/app/'],
    ['/app%2f/', '/app%2f/', '/app%2f/', '/app/'],
    ['/xyz%30..//abc', '/xyz0..//abc', '/xyz0../abc', '/xyz0../abc'],
    ['/app/%2E./admin', '/admin', '/admin', '/admin'],
    ['/app\\admin', '/app/admin', '/app/admin', '/app/admin'],
    ['/app/\\/\\/\\admin', '/app//////admin', '/app/admin', '/app/admin'],
    ['/%2Fapp%5cadmin%5Cabc', '/%2Fapp%5cadmin%5Cabc', '/%2Fapp%5cadmin%5Cabc', '/app/admin/abc'],
    ['/%5Capp%2f%5c%2F%2e%2e%2fadmin%5c\\abc', '/%5Capp%2f%5c%2F..%2fadmin%5c/abc', '/%5Capp%2f%5c%2F..%2fadmin%5c/abc', '/app/admin/abc'],
    ['/app//../admin', '/app/admin', '/app/admin', '/app/admin'],
    ['/app//../../admin', '/admin', '/admin', '/admin'],
  ];
  it.each(cases)('%s', (input, base, merge, decode) => {
    expect(normalized(input, NONE)).toBe(input);
    expect(normalized(input, BASE)).toBe(base);
    expect(normalized(input, MERGE)).toBe(merge);
    expect(normalized(input, DECODE_AND_MERGE)).toBe(decode);
  });

  it('leaves alone what only looks like a traversal', () => {
    for (const p of [
      '/0x2e0x2e/admin', '/%25c0%25ae%25c0%25ae/admin', '/%252e%252e/admin', '/%c0%ae%c0%ae/admin', '/.../admin',
      '/..../admin', '/..;/admin', '/;/admin', '/admin;a=b', '/admin,a=b/xyz', '/Admin', '/ADMIN',
    ]) {
      expect(normalized(p, DECODE_AND_MERGE)).toBe(p);
    }
    expect(normalized('/%c0%2e%c0%2e/admin', DECODE_AND_MERGE)).toBe('/%c0.%c0./admin');
    expect(normalized('/%c0%2fadmin', DECODE_AND_MERGE)).toBe('/%c0/admin');
  });

  it('decodes exactly the unreserved characters (and %2F, %5C under DECODE_AND_MERGE_SLASHES)', () => {
    for (let i = 1; i <= 0xff; i++) {
      const hex = i.toString(16).padStart(2, '0');
      const ch = String.fromCharCode(i);
      let expected = `/admin%${hex}`;
      if (/[A-Za-z0-9\-._~]/.test(ch)) expected = `/admin${ch}`;
      if (i === 0x2f || i === 0x5c) expected = '/admin/';
      expect(normalized(`/admin%${hex}`, DECODE_AND_MERGE), hex).toBe(expected);
    }
  });

  it('refuses %00 (400)', () => {
    expect(normalized('/admin%00', DECODE_AND_MERGE)).toBe(PATH_REJECT);
    expect(normalized('/admin%00', BASE)).toBe(PATH_REJECT);
  });
});

describe('the bypasses of a `prefix: /admin` route', () => {
  it('all become /admin with normalize_path and merge_slashes', () => {
    for (const p of ['//admin', '/x/../admin', '/./admin', '/%2e%2e/admin', '/%61dmin', '/a/b/../../admin', '/%2E/admin', '/.%2e/admin']) {
      expect(normalized(p, MERGE), p).toBe('/admin');
    }
  });
});

describe('canonicalPath (Chromium canonicalizer details)', () => {
  it('never climbs above the root and handles a trailing dot segment', () => {
    expect(canonicalPath('/../../a')).toBe('/a');
    expect(canonicalPath('/a/..')).toBe('/');
    expect(canonicalPath('/a/.')).toBe('/a/');
    expect(canonicalPath('/a/b/..')).toBe('/a/');
    expect(canonicalPath('/a.b/c.')).toBe('/a.b/c.');
  });

  it('percent-encodes what a path may not hold, in upper-case hex', () => {
    expect(canonicalPath('/a"b<c>d^e`f{g|h}i#j')).toBe('/a%22b%3Cc%3Ed%5Ee%60f%7Bg%7Ch%7Di%23j');
  });

  it('keeps invalid and reserved escapes as written, and guards escapes that decoding would create', () => {
    expect(canonicalPath('/a%zzb%')).toBe('/a%zzb%');
    expect(canonicalPath('/a%3fb%3Fc')).toBe('/a%3fb%3Fc');
    // "%%30%30" would decode to "%00" on a second pass: the lone '%' is written %25.
    expect(canonicalPath('/%%30%30')).toBe('/%2500');
    expect(canonicalPath('/%%34%31')).toBe('/%2541');
  });
});

describe('escaped slashes', () => {
  const reject: PathNormalization = { ...NONE, escapedSlashes: 'REJECT_REQUEST' };
  const redirect: PathNormalization = { ...BASE, mergeSlashes: true, escapedSlashes: 'UNESCAPE_AND_REDIRECT' };
  it('REJECT_REQUEST refuses a path with %2F or %5C, and only those', () => {
    expect(normalized('/a%2Fb', reject)).toBe(PATH_REJECT);
    expect(normalized('/a%5cb', reject)).toBe(PATH_REJECT);
    expect(normalized('/a%20b', reject)).toBe('/a%20b');
  });

  it('UNESCAPE_AND_REDIRECT redirects to the unescaped, normalized path', () => {
    const result = { path: '' };
    expect(normalizeRequestPath('/x%2F..%2Fadmin', redirect, result)).toBe(PATH_REDIRECT);
    expect(result.path).toBe('/admin');
    expect(normalized('/x/../admin', redirect)).toBe('/admin'); // no escaped slash: forwarded, not redirected
  });
});

describe('the common case', () => {
  it('finds in one scan that an ordinary path needs nothing, and returns the same string', () => {
    for (const p of ['/', '/api/v1/users/42', '/static/app.min.js', '/a-b_c~d/e.f', '/.well-known/x']) {
      const mayChange = pathMayChange(p, MERGE);
      if (p === '/.well-known/x') expect(mayChange).toBe(true); // "/." needs a look, and stays
      else expect(mayChange).toBe(false);
      expect(normalized(p, MERGE)).toBe(p);
    }
    expect(pathMayChange('/a//b', BASE)).toBe(false);
    expect(pathMayChange('/a//b', MERGE)).toBe(true);
    expect(mergeSlashes('///a//b///')).toBe('/a/b/');
  });
});
