// Trace headers from a hostile peer: only exact shapes are taken (lengths,
// lowercase hex for traceparent, ids not all zeros); anything else is read
// as absent, never as an error. B3 wins over traceparent when both are valid.
import { describe, expect, it } from 'vitest';
import {
  IncomingTraceHeaders, SAMPLED_NO, SAMPLED_UNSET, SAMPLED_YES, parseB3Multi, parseB3Single, parseTraceparent, type TraceContext,
} from '../../../workers/tracing/trace-headers.js';

const ctx = (): TraceContext => ({ traceId: '', spanId: '', parentId: '', sampled: SAMPLED_UNSET });
const T64 = '463ac35c9f6413ad';
const T128 = '463ac35c9f6413ad48485a3953bb6124';
const S = 'a2fb4a1d1a96d312';
const P = '0020000000000001';

describe('traceparent', () => {
  it('reads version 00 with both flags, and a 128-bit id whose high half is zero as the 64-bit id', () => {
    const c = ctx();
    expect(parseTraceparent(`00-${T128}-${S}-01`, c)).toBe(true);
    expect(c).toEqual({ traceId: T128, spanId: S, parentId: '', sampled: SAMPLED_YES });
    expect(parseTraceparent(`00-${'0'.repeat(16)}${T64}-${S}-00`, c)).toBe(true);
    expect(c).toEqual({ traceId: T64, spanId: S, parentId: '', sampled: SAMPLED_NO });
    // A later version may carry more fields after a '-'.
    expect(parseTraceparent(`01-${T128}-${S}-03-extra`, c)).toBe(true);
    expect(c.sampled).toBe(SAMPLED_YES);
  });

  it.each([
    ['', 'empty'],
    [`00-${T128}-${S}-01-extra`, 'version 00 with more fields'],
    [`ff-${T128}-${S}-01`, 'version ff'],
    [`00-${T128.toUpperCase()}-${S}-01`, 'uppercase hex'],
    [`00-${'0'.repeat(32)}-${S}-01`, 'all-zero trace id'],
    [`00-${T128}-${'0'.repeat(16)}-01`, 'all-zero parent id'],
    [`00-${T128}-${S}-0g`, 'bad flags'],
    [`00_${T128}_${S}_01`, 'wrong separators'],
    [`00-${T128.slice(2)}-${S}-0100`, 'shifted fields'],
    [`0x-${T128}-${S}-01`, 'bad version'],
    ['00-' + 'a'.repeat(5000), 'very long'],
    ['\u0000'.repeat(55), 'NULs'],
    [`01-${T128}-${S}-01x`, 'later version without a dash after the flags'],
  ])('ignores %j (%s)', (value) => {
    const c = ctx();
    expect(parseTraceparent(value, c)).toBe(false);
    expect(c.traceId).toBe('');
  });
});

describe('B3', () => {
  it('reads the multi-header form, with and without a parent, uppercase hex lowered', () => {
    const c = ctx();
    expect(parseB3Multi(T128, S, P, '1', '', c)).toBe(true);
    expect(c).toEqual({ traceId: T128, spanId: S, parentId: P, sampled: SAMPLED_YES });
    expect(parseB3Multi(T64.toUpperCase(), S, '', '0', '', c)).toBe(true);
    expect(c).toEqual({ traceId: T64, spanId: S, parentId: '', sampled: SAMPLED_NO });
    expect(parseB3Multi(T64, S, '', '', '1', c)).toBe(true); // debug
    expect(c.sampled).toBe(SAMPLED_YES);
    expect(parseB3Multi(T64, S, '', 'true', '', c)).toBe(true);
    expect(c.sampled).toBe(SAMPLED_YES);
  });

  it('takes a sampling state alone, and refuses ids of the wrong shape (keeping the state)', () => {
    const c = ctx();
    expect(parseB3Multi('', '', '', '0', '', c)).toBe(false);
    expect(c.sampled).toBe(SAMPLED_NO);
    for (const [t, s, p] of [[T64, '', ''], [T64.slice(1), S, ''], [T64, S + '0', ''], [T64, S, 'zz'], ['0'.repeat(16), S, ''], [T64, S, '0'.repeat(16)], [`${T64} `, S, '']]) {
      expect(parseB3Multi(t!, s!, p!, '1', '', c)).toBe(false);
      expect(c.traceId).toBe('');
      expect(c.sampled).toBe(SAMPLED_YES);
    }
  });

  it('reads the single header in each of its forms', () => {
    const c = ctx();
    expect(parseB3Single(`${T128}-${S}-1-${P}`, c)).toBe(true);
    expect(c).toEqual({ traceId: T128, spanId: S, parentId: P, sampled: SAMPLED_YES });
    expect(parseB3Single(`${T64}-${S}`, c)).toBe(true);
    expect(c).toEqual({ traceId: T64, spanId: S, parentId: '', sampled: SAMPLED_UNSET });
    expect(parseB3Single(`${T64}-${S}-d`, c)).toBe(true);
    expect(c.sampled).toBe(SAMPLED_YES);
    expect(parseB3Single('0', c)).toBe(false);
    expect(c.sampled).toBe(SAMPLED_NO);
  });

  it.each([
    ['-'], ['--'], [`${T64}`], [`${T64}-`], [`${T64}-${S}-2`], [`${T64}-${S}-true`], [`${T64}-${S}-1-${P}-x`],
    [`${T64}-${S}-1-`], ['x'], ['-'.repeat(600)], [`${T64}-${S}-1-${P}`.replace(/a/g, 'g')],
  ])('ignores b3: %j', (value) => {
    const c = ctx();
    expect(parseB3Single(value, c)).toBe(false);
    expect(c.traceId).toBe('');
  });
});

describe('IncomingTraceHeaders.decode', () => {
  function decoded(fields: Partial<IncomingTraceHeaders>): { ok: boolean; c: TraceContext } {
    const h = Object.assign(new IncomingTraceHeaders(), fields);
    const c = ctx();
    return { ok: h.decode(c), c };
  }

  it('prefers B3 over traceparent, falls back to traceparent when B3 is malformed', () => {
    expect(decoded({ b3TraceId: T64, b3SpanId: S, traceparent: `00-${T128}-${P}-01` }).c.traceId).toBe(T64);
    expect(decoded({ b3TraceId: 'junk', b3SpanId: S, traceparent: `00-${T128}-${P}-01` }).c).toMatchObject({ traceId: T128, spanId: P, sampled: SAMPLED_YES });
    expect(decoded({ b3: 'junk-junk', traceparent: `00-${T128}-${P}-01` }).c.traceId).toBe(T128);
  });

  it('says debug for the b3 header\'s state d only where that header is one B3 defines', () => {
    const debug = (b3: string): boolean => {
      const h = Object.assign(new IncomingTraceHeaders(), { b3 });
      h.decode(ctx());
      return h.b3Debug;
    };
    for (const v of ['d', `${T64}-${S}-d`, `${T128}-${S}-d-${P}`]) expect(debug(v), v).toBe(true);
    for (const v of ['1', `${T64}-${S}`, `${T64}-${S}-1`, `${T64}-d${S.slice(1)}-1`, 'x-y-d', `${T64}-${S}-dd`, 'dd']) expect(debug(v), v).toBe(false);
  });

  it('lets a B3 sampling state decide over traceparent\'s flags', () => {
    expect(decoded({ b3Sampled: '0', traceparent: `00-${T128}-${P}-01` }).c).toMatchObject({ traceId: T128, sampled: SAMPLED_NO });
  });

  it('reports no context for nothing or garbage only', () => {
    expect(decoded({}).ok).toBe(false);
    const junk = decoded({ traceparent: 'x', b3: '\u0000', b3TraceId: '..' });
    expect(junk.ok).toBe(false);
    expect(junk.c).toEqual({ traceId: '', spanId: '', parentId: '', sampled: SAMPLED_UNSET });
  });
});
