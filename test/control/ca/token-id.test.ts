// Token ids are what an operator types after `isthmus token revoke`: they must never look like an option.
import { describe, expect, it } from 'vitest';
import { newTokenId } from '../../../control/ca/bootstrap-token.js';

describe('bootstrap token ids', () => {
  it('are 18 hex digits, so none starts with "-" (a base64url id did one time in 64 and could not be revoked)', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) ids.add(newTokenId());
    expect(ids.size).toBe(2000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{18}$/);
  });
});
