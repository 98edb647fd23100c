// hash_policy evaluation on heads parsed by the native parser, as the
// request path sees them.
import { describe, expect, it } from 'vitest';
import type { HashPolicy } from '../../src/config/bootstrap-types.js';
import { headSlots, parseRequestHead } from '../../src/native.js';
import { combineHash, hashString } from '../../workers/balancers/hash32.js';
import { NO_HASH, cookieValue, queryValue, requestHash, type SetCookieSink } from '../../workers/request-hash.js';

function parsed(headers: string): { buf: Buffer; out: Uint32Array } {
  const buf = Buffer.from(`GET /p HTTP/1.1\r\nhost: svc\r\n${headers}\r\n`, 'latin1');
  const out = new Uint32Array(headSlots(100));
  expect(parseRequestHead(buf, 0, buf.length, out, 65536, 100)).toBeGreaterThan(0);
  return { buf, out };
}

function hashOf(policies: HashPolicy[], headers: string, o: { query?: string; ip?: string; conn?: object } = {}): { hash: number; sink: SetCookieSink } {
  const { buf, out } = parsed(headers);
  const sink: SetCookieSink = { setCookie: null };
  const hash = requestHash(policies, buf, out, o.query ?? '', o.ip ?? '10.0.0.1', o.conn ?? {}, sink);
  return { hash, sink };
}

const header = (name: string, terminal = false): HashPolicy => ({ kind: 'header', name, terminal });
const cookie = (name: string, ttlMs: number | null, path: string | null = null): HashPolicy => ({ kind: 'cookie', name, ttlMs, path, terminal: false });

describe('requestHash', () => {
  it('hashes a header value: same value, same hash; another value, another hash; absent: no hash', () => {
    const a = hashOf([header('x-user')], 'x-user: alice\r\n').hash;
    expect(a).toBe(hashString('alice'));
    expect(hashOf([header('x-user')], 'X-User: alice\r\n').hash).toBe(a);
    expect(hashOf([header('x-user')], 'x-user: bob\r\n').hash).not.toBe(a);
    expect(hashOf([header('x-user')], 'x-other: alice\r\n').hash).toBe(NO_HASH);
  });

  it('hashes a repeated header the same whatever the order of its values', () => {
    expect(hashOf([header('x-k')], 'x-k: a\r\nx-k: b\r\n').hash).toBe(hashOf([header('x-k')], 'x-k: b\r\nx-k: a\r\n').hash);
  });

  it('combines several policies by rotate-xor, skips absent ones, and stops after a terminal one that hashed', () => {
    const both = hashOf([header('x-a'), header('x-b')], 'x-a: 1\r\nx-b: 2\r\n').hash;
    expect(both).toBe(combineHash(hashString('1'), hashString('2')));
    expect(hashOf([header('x-missing'), header('x-b')], 'x-b: 2\r\n').hash).toBe(hashString('2'));
    expect(hashOf([header('x-a', true), header('x-b')], 'x-a: 1\r\nx-b: 2\r\n').hash).toBe(hashString('1'));
    expect(hashOf([header('x-missing', true), header('x-b')], 'x-b: 2\r\n').hash).toBe(hashString('2'));
  });

  it('hashes the source IP and a query parameter', () => {
    expect(hashOf([{ kind: 'source_ip', terminal: false }], '', { ip: '127.0.0.9' }).hash).toBe(hashString('127.0.0.9'));
    const q: HashPolicy = { kind: 'query_parameter', name: 'user', terminal: false };
    expect(hashOf([q], '', { query: 'a=1&user=carol&user=dave' }).hash).toBe(hashString('carol'));
    expect(hashOf([q], '', { query: 'username=x' }).hash).toBe(NO_HASH);
  });

  it('hashes a cookie present in the request and sets none', () => {
    const r = hashOf([cookie('sticky', 60_000, '/')], 'cookie: a=1; sticky="v42"; b=2\r\n');
    expect(r.hash).toBe(hashString('v42'));
    expect(r.sink.setCookie).toBeNull();
  });

  it('makes up an absent cookie with a ttl (one value per connection) and asks for Envoy\'s set-cookie', () => {
    const conn = {};
    const first = hashOf([cookie('sticky', 3_600_000, '/app')], '', { conn });
    const value = /^set-cookie: sticky="([0-9a-f]{16})"; Max-Age=3600; Path=\/app; HttpOnly\r\n$/.exec(first.sink.setCookie ?? '');
    expect(value).not.toBeNull();
    expect(first.hash).toBe(hashString(value![1]!));
    expect(hashOf([cookie('sticky', 3_600_000, '/app')], '', { conn }).sink.setCookie).toBe(first.sink.setCookie);
    // The client sends it back: same hash, no new cookie.
    const back = hashOf([cookie('sticky', 3_600_000, '/app')], `cookie: sticky="${value![1]!}"\r\n`);
    expect(back.hash).toBe(first.hash);
    expect(back.sink.setCookie).toBeNull();
  });

  it('without a ttl an absent cookie gives no hash and no set-cookie; a 0 s ttl makes a session cookie', () => {
    const none = hashOf([cookie('sticky', null)], '');
    expect(none).toEqual({ hash: NO_HASH, sink: { setCookie: null } });
    expect(hashOf([cookie('s', 0)], '').sink.setCookie).toMatch(/^set-cookie: s="[0-9a-f]{16}"; HttpOnly\r\n$/);
  });
});

describe('cookieValue / queryValue', () => {
  it('finds a cookie in any cookie header, not by a longer name', () => {
    const { buf, out } = parsed('cookie: sticky2=x\r\ncookie: other=1;sticky=y\r\n');
    expect(cookieValue(buf, out, 'sticky')).toBe('y');
    expect(cookieValue(buf, out, 'nope')).toBeNull();
  });

  it('takes the first value of a parameter, "" when it has no "="', () => {
    expect(queryValue('a=1&b&c=3', 'b')).toBe('');
    expect(queryValue('a=1&c=3&c=4', 'c')).toBe('3');
    expect(queryValue('', 'c')).toBeNull();
  });
});
