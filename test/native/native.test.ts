import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HEAD, PARSE_ERROR, addonPath, headSlots, parseErrorReason, parseErrorStatus } from '../../src/native.js';

describe('src/native.ts', () => {
  it('loads the addon from build/Release', () => {
    expect(addonPath).toMatch(/build[/\\]Release[/\\]isthmus\.node$/);
    expect(existsSync(addonPath)).toBe(true);
  });

  it('has a distinct lowercase reason and a 400/431 status for every parse error', () => {
    const reasons = Object.values(PARSE_ERROR).map(parseErrorReason);
    expect(new Set(reasons).size).toBe(reasons.length);
    for (const r of reasons) expect(r).toMatch(/^[a-z0-9 -]+$/);
    expect(parseErrorReason(-99)).toBe('unknown parse error -99');
    expect(parseErrorStatus(PARSE_ERROR.HEAD_TOO_LARGE)).toBe(431);
    expect(parseErrorStatus(PARSE_ERROR.TOO_MANY_HEADERS)).toBe(431);
    expect(parseErrorStatus(PARSE_ERROR.DUPLICATE_HOST)).toBe(400);
  });

  it('sizes the head output array', () => {
    expect(headSlots(100)).toBe(HEAD.HEADERS + 500);
  });

  it('loads and parses in several worker threads at once', async () => {
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.addonPath);
      const buf = Buffer.from('GET /w HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n', 'latin1');
      const out = new Uint32Array(16 + 5 * 4);
      let total = 0;
      for (let i = 0; i < 1000; i++) total += addon.parseRequestHead(buf, 0, buf.length, out, 1024, 4);
      parentPort.postMessage(total);`;
    const results = await Promise.all([0, 1, 2].map(() => new Promise<number>((resolve, reject) => {
      const worker = new Worker(code, { eval: true, workerData: { addonPath } });
      worker.once('message', (n: number) => { resolve(n); void worker.terminate(); });
      worker.once('error', reject);
    })));
    expect(results).toEqual([28_000, 28_000, 28_000]); // 1000 heads of 28 bytes each
  });
});
