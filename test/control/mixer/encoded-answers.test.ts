// Encoded Check answers: the same answer is encoded once and its bytes decode
// to exactly what encoding it afresh gives; answers with quotas are encoded
// each time; the cache is bounded.
import { describe, expect, it } from 'vitest';
import { mixerServiceDefinition } from '../../../control/mixer/mixer-protos.js';
import { checkResponse } from '../../../control/mixer/mixer-service.js';
import { EncodedAnswers, MAX_ENCODED_ANSWERS, withEncodedCheckAnswers } from '../../../control/mixer/encoded-answers.js';
import type { CheckAnswer } from '../../../control/mixer/rule-dispatch.js';

const check = mixerServiceDefinition().Check!;
const answer = (code: number, message = ''): CheckAnswer => ({
  code, message, validDurationMs: 5000, validUseCount: 1000, quotas: new Map(),
  referenced: [{ name: 'request.headers', map_key: 'x-user', condition: 'EXACT' }, { name: 'request.path', map_key: '', condition: 'EXACT' }],
});

describe('EncodedAnswers', () => {
  it('reuses the bytes of an equal answer, and they decode as a fresh encoding does', () => {
    let encodings = 0;
    const answers = new EncodedAnswers((a) => {
      encodings++;
      return check.responseSerialize(checkResponse(a));
    });
    const first = answers.encoded(answer(7, 'no beta'));
    const second = answers.encoded(answer(7, 'no beta'));
    expect(second).toBe(first);
    expect(encodings).toBe(1);
    expect(check.responseDeserialize(first)).toEqual(check.responseDeserialize(check.responseSerialize(checkResponse(answer(7, 'no beta')))));
    expect(answers.encoded(answer(0))).not.toEqual(first);
    expect(encodings).toBe(2);
    // A referenced attribute more is another answer.
    const more = answer(7, 'no beta');
    expect(answers.encoded({ ...more, referenced: [...more.referenced, { name: 'request.method', map_key: '', condition: 'ABSENCE' }] })).not.toEqual(first);
  });

  it('encodes answers with quotas every time, and stays bounded', () => {
    let encodings = 0;
    const answers = new EncodedAnswers((a) => {
      encodings++;
      return check.responseSerialize(checkResponse(a));
    });
    const withQuota: CheckAnswer = { ...answer(0), quotas: new Map([['q', { code: 0, message: '', grantedAmount: 1, validDurationMs: 1000, referenced: [] }]]) };
    answers.encoded(withQuota);
    answers.encoded(withQuota);
    expect(encodings).toBe(2);
    for (let i = 0; i < MAX_ENCODED_ANSWERS * 2; i++) answers.encoded(answer(7, `m${i}`));
    expect((answers as unknown as { cache: Map<string, Buffer> }).cache.size).toBeLessThanOrEqual(MAX_ENCODED_ANSWERS);
  });

  it('the server definition passes encoded bytes through and still encodes a message', () => {
    const definition = withEncodedCheckAnswers(mixerServiceDefinition());
    const bytes = check.responseSerialize(checkResponse(answer(0)));
    expect(definition.Check!.responseSerialize(bytes)).toBe(bytes);
    expect(definition.Check!.responseSerialize(checkResponse(answer(0)))).toEqual(bytes);
  });
});
