// Sets a Span's ids from hex strings, as startRequestTrace sets them from a request's words.
import type { Span } from '../../workers/tracing/span.js';
import { hexWord, setTraceIdFromHex } from '../../workers/tracing/trace-ids.js';

/** takes a span and hex ids (a 16- or 32-digit trace id, 16-digit others; '' = none); sets its id words. */
export function setSpanIds(s: Span, ids: { traceId: string; id: string; parentId?: string; upstreamSpanId?: string }): void {
  setTraceIdFromHex(s, ids.traceId);
  s.id0 = hexWord(ids.id, 0);
  s.id1 = hexWord(ids.id, 8);
  const parent = ids.parentId ?? '';
  s.hasParentWords = parent !== '';
  s.parent0 = parent === '' ? 0 : hexWord(parent, 0);
  s.parent1 = parent === '' ? 0 : hexWord(parent, 8);
  const child = ids.upstreamSpanId ?? '';
  s.hasUpstreamWords = child !== '';
  s.upstream0 = child === '' ? 0 : hexWord(child, 0);
  s.upstream1 = child === '' ? 0 : hexWord(child, 8);
}
