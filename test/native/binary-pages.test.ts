// releaseBinaryPages (native/binary_pages.cc): a process drops its mappings of
// the node binary's clean pages and keeps running correctly: code and data it
// touches again are faulted back, nothing written (relocations, .data) is lost.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { addonPath } from '../../src/native.js';
import { releaseStartupPages } from '../../src/process/startup-pages.js';

const CHILD = `
const { readFileSync } = require('node:fs');
const addon = require(process.argv[1]);
const binaryKb = () => {
  let kb = 0;
  for (const block of readFileSync('/proc/self/smaps', 'utf8').split(/\\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    if (block.split('\\n', 1)[0].split(/\\s+/).slice(5).join(' ') === process.execPath) kb += Number(/^Rss:\\s+(\\d+)/m.exec(block)[1]);
  }
  return kb;
};
const before = binaryKb();
const released = addon.releaseBinaryPages();
const after = binaryKb();
// Work that runs code and reads tables startup ran and read: compression, hashing, Intl, regexps, a worker thread.
const zlib = require('node:zlib');
const text = 'isthmus '.repeat(10000);
const roundTrip = zlib.gunzipSync(zlib.gzipSync(text)).toString() === text;
const hash = require('node:crypto').createHash('sha256').update('abc').digest('hex');
const date = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric' }).format(new Date(0));
const regexp = /^(a+)+b$/.test('aaab');
const { Worker } = require('node:worker_threads');
const w = new Worker('require("node:worker_threads").parentPort.postMessage(JSON.stringify({ ok: [1, 2, 3].map((x) => x * 2) }))', { eval: true });
w.once('message', (m) => {
  process.stdout.write(JSON.stringify({ before, released, after, again: addon.releaseBinaryPages() >= 0, roundTrip, hash, date, regexp, worker: m }));
  process.exit(0);
});
`;

describe.skipIf(process.platform !== 'linux')('releaseBinaryPages', () => {
  it('drops most of the node binary from RSS, and the process runs on correctly after', () => {
    const out = JSON.parse(execFileSync(process.execPath, ['-e', CHILD, addonPath], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(out.released as number).toBeGreaterThan(0);
    expect(out.after as number).toBeLessThan((out.before as number) / 2);
    expect(out).toMatchObject({
      again: true, roundTrip: true, regexp: true, date: '1970',
      hash: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      worker: JSON.stringify({ ok: [2, 4, 6] }),
    });
  });

  it('releases nothing with --startup-pages keep', () => {
    expect(releaseStartupPages('keep')).toBe(0);
  });
});
