// Check answers repeat: a rule set gives a handful of distinct answers (status,
// validity, the referenced attributes), whatever the request's values. Each
// distinct answer is encoded to protobuf once and the bytes are reused: the
// service definition's serializer passes a Buffer through. Bounded: when full
// the cache starts over. Answers with quotas (grants vary) are not cached.
import type { ServiceDefinition } from '@grpc/proto-loader';
import type { CheckAnswer } from './rule-dispatch.js';

/** Distinct encoded answers kept (a rule set with more distinct answers still works; it encodes more often). */
export const MAX_ENCODED_ANSWERS = 1024;

/** takes the Mixer service definition; returns a copy whose Check answers may be given as already-encoded bytes. */
export function withEncodedCheckAnswers(definition: ServiceDefinition): ServiceDefinition {
  const check = definition.Check!;
  const serialize = check.responseSerialize;
  return { ...definition, Check: { ...check, responseSerialize: (value: object) => (Buffer.isBuffer(value) ? value : serialize(value)) } };
}

export class EncodedAnswers {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly encode: (answer: CheckAnswer) => Buffer) {}

  /** takes a dispatcher answer; returns its encoded CheckResponse, from the cache when the same answer was given before. */
  encoded(answer: CheckAnswer): Buffer {
    if (answer.quotas.size > 0) return this.encode(answer);
    let key = `${answer.code}\u0000${answer.validDurationMs}\u0000${answer.validUseCount}\u0000${answer.message}`;
    for (const m of answer.referenced) key += `\u0000${m.name}\u0001${m.map_key}\u0001${m.condition}`;
    let bytes = this.cache.get(key);
    if (bytes === undefined) {
      if (this.cache.size >= MAX_ENCODED_ANSWERS) this.cache.clear();
      bytes = this.encode(answer);
      this.cache.set(key, bytes);
    }
    return bytes;
  }
}
