// Generated x-request-id values: version 4 UUIDs in the canonical lowercase
// form, none repeated, across many batches.
import { describe, expect, it } from 'vitest';
import { newRequestId } from '../../workers/request-id.js';

describe('newRequestId', () => {
  it('gives distinct version-4 UUIDs (RFC 4122 variant) across batch refills, each a 36-char string', () => {
    const seen = new Set<string>();
    const nibbleCounts = new Array<number>(16).fill(0);
    for (let i = 0; i < 5000; i++) {
      const id = newRequestId();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(id);
      nibbleCounts[parseInt(id[0]!, 16)]!++;
    }
    expect(seen.size).toBe(5000);
    // Random, not a counter: every leading hex digit turns up.
    expect(nibbleCounts.every((n) => n > 100)).toBe(true);
  });
});
