// Check answers repeat: a rule set gives a handful of distinct answers (status,
// validity, the referenced attributes), whatever the request's values. Each
// distinct answer is encoded to protobuf once and the bytes are reused: the
// service definition's serializer passes a Buffer through. Bounded: when full
// the cache starts over. Answers with quotas (grants vary) are not cached.
// Looking an answer up allocates nothing: the referenced attributes are keyed
// by their shared sorted array (reference-recorder.ts; a list from elsewhere
// is mapped to it first), then the status and validity by value.
import type { ServiceDefinition } from '@grpc/proto-loader';
import type { CheckAnswer } from './rule-dispatch.js';
import { canonicalReferences, type AttributeMatch } from './reference-recorder.js';

/** code -> message -> valid duration -> valid use count -> bytes. */
type ByStatus = Map<number, Map<string, Map<number, Map<number, Buffer>>>>;

/** Distinct encoded answers kept (a rule set with more distinct answers still works; it encodes more often). */
export const MAX_ENCODED_ANSWERS = 1024;

/** takes the Mixer service definition; returns a copy whose Check answers may be given as already-encoded bytes. */
export function withEncodedCheckAnswers(definition: ServiceDefinition): ServiceDefinition {
  const check = definition.Check!;
  const serialize = check.responseSerialize;
  return { ...definition, Check: { ...check, responseSerialize: (value: object) => (Buffer.isBuffer(value) ? value : serialize(value)) } };
}

export class EncodedAnswers {
  /** By the referenced attributes' shared array (at most `count` answers below it all). */
  private readonly cache = new Map<readonly AttributeMatch[], ByStatus>();
  private count = 0;

  constructor(private readonly encode: (answer: CheckAnswer) => Buffer) {}

  /** takes a dispatcher answer; returns its encoded CheckResponse, from the cache when the same answer was given before. */
  encoded(answer: CheckAnswer): Buffer {
    if (answer.quotas.size > 0) return this.encode(answer);
    // The dispatcher's answers carry the shared array already: looked up as it is, mapped to it only on a miss.
    let refs = answer.referenced;
    if (!this.cache.has(refs)) refs = canonicalReferences(refs);
    const bytes = this.cache.get(refs)?.get(answer.code)?.get(answer.message)?.get(answer.validDurationMs)?.get(answer.validUseCount);
    if (bytes !== undefined) return bytes;
    const fresh = this.encode(answer);
    if (this.count >= MAX_ENCODED_ANSWERS) {
      this.cache.clear();
      this.count = 0;
    }
    let byStatus = this.cache.get(refs);
    if (byStatus === undefined) this.cache.set(refs, (byStatus = new Map()));
    let byMessage = byStatus.get(answer.code);
    if (byMessage === undefined) byStatus.set(answer.code, (byMessage = new Map()));
    let byDuration = byMessage.get(answer.message);
    if (byDuration === undefined) byMessage.set(answer.message, (byDuration = new Map()));
    let byUses = byDuration.get(answer.validDurationMs);
    if (byUses === undefined) byDuration.set(answer.validDurationMs, (byUses = new Map()));
    byUses.set(answer.validUseCount, fresh);
    this.count++;
    return fresh;
  }
}
