// releaseBinaryPages (native/binary_pages.cc): a process drops its mappings of
// the clean pages of the node binary and of its libraries and addons, and
// keeps running correctly: code and data it touches again are faulted back,
// nothing written (relocations, .data) is lost.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { addonPath, binaryPagesToRelease } from '../../src/native.js';
import { releaseStartupPages } from '../../src/process/startup-pages.js';

const CHILD = `
const { readFileSync } = require('node:fs');
const addon = require(process.argv[1]);
// kB resident of the mappings of files whose path passes the test
const fileKb = (test) => {
  let kb = 0;
  for (const block of readFileSync('/proc/self/smaps', 'utf8').split(/\\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    if (test(block.split('\\n', 1)[0].split(/\\s+/).slice(5).join(' '))) kb += Number(/^Rss:\\s+(\\d+)/m.exec(block)[1]);
  }
  return kb;
};
const isLibrary = (path) => /\\.so(\\.|$)|\\.node$/.test(path);
const before = fileKb((p) => p === process.execPath), librariesBefore = fileKb(isLibrary);
const released = addon.releaseBinaryPages();
const after = fileKb((p) => p === process.execPath), librariesAfter = fileKb(isLibrary);
// Work that runs code and reads tables startup ran and read: compression, hashing, Intl, regexps, a worker thread.
const zlib = require('node:zlib');
const text = 'isthmus '.repeat(10000);
const roundTrip = zlib.gunzipSync(zlib.gzipSync(text)).toString() === text;
const hash = require('node:crypto').createHash('sha256').update('abc').digest('hex');
const date = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric' }).format(new Date(0));
const regexp = /^(a+)+b$/.test('aaab');
// The addon's own code and libstdc++ (its C++ runtime), run again after their pages were dropped.
const parsed = addon.binaryPagesToRelease('400000-800000 r--p 00000000 08:01 1234 /x.so\\nRss: 4 kB\\nAnonymous: 0 kB\\nSwap: 0 kB\\n');
const { Worker } = require('node:worker_threads');
const w = new Worker('require("node:worker_threads").parentPort.postMessage(JSON.stringify({ ok: [1, 2, 3].map((x) => x * 2) }))', { eval: true });
w.once('message', (m) => {
  process.stdout.write(JSON.stringify({ before, released, after, librariesBefore, librariesAfter, again: addon.releaseBinaryPages() >= 0, roundTrip, hash, date, regexp, parsed, worker: m }));
  process.exit(0);
});
`;

describe.skipIf(process.platform !== 'linux')('releaseBinaryPages', () => {
  it('drops most of the node binary and its libraries from RSS, and the process runs on correctly after', () => {
    const out = JSON.parse(execFileSync(process.execPath, ['-e', CHILD, addonPath], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(out.released as number).toBeGreaterThan(0);
    expect(out.after as number).toBeLessThan((out.before as number) / 2);
    expect(out.librariesAfter as number).toBeLessThan((out.librariesBefore as number) / 2);
    expect(out).toMatchObject({
      again: true, roundTrip: true, regexp: true, date: '1970', parsed: [0x400000, 0x800000],
      hash: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      worker: JSON.stringify({ ok: [2, 4, 6] }),
    });
  });

  it('releases nothing with --startup-pages keep', () => {
    expect(releaseStartupPages('keep')).toBe(0);
  });
});

const EXE = '/opt/node/bin/node';

/** Takes a mapping's header fields and counts; returns its smaps block as Linux writes it (counts left out: no line). */
function block(range: string, perms: string, path: string, kb: { rss?: number; anonymous?: number; swap?: number }): string {
  const line = (key: string, v: number | undefined): string => (v === undefined ? '' : `${(key + ':').padEnd(16)}${String(v).padStart(8)} kB\n`);
  return (
    `${range} ${perms} 00000000 08:01 1234${path === '' ? '' : ' '.repeat(23) + path}\n` +
    line('Size', 2048) + line('KernelPageSize', 4) + line('MMUPageSize', 4) + line('Rss', kb.rss) + line('Pss', kb.rss) +
    line('Shared_Clean', kb.rss) + line('Shared_Dirty', 0) + line('Private_Clean', 0) + line('Private_Dirty', kb.anonymous) +
    line('Referenced', kb.rss) + line('Anonymous', kb.anonymous) + line('LazyFree', 0) + line('AnonHugePages', 0) +
    line('ShmemPmdMapped', 0) + line('FilePmdMapped', 0) + line('Shared_Hugetlb', 0) + line('Private_Hugetlb', 0) +
    line('Swap', kb.swap) + line('SwapPss', kb.swap) + line('Locked', 0) + 'THPeligible:    0\nVmFlags: rd mr mw me dw sd \n'
  );
}
const CLEAN = { rss: 1024, anonymous: 0, swap: 0 };
const range = (a: number, b: number): [number, number] => [a, b];

describe('releaseBinaryPages: which smaps blocks it releases', () => {
  it('read-only and read-execute private mappings of files (the executable, libraries) holding only file pages; nothing written, shared or anonymous', () => {
    const smaps =
      block('400000-800000', 'r--p', EXE, CLEAN) +
      block('800000-c00000', 'r-xp', EXE, CLEAN) +
      block('c00000-c10000', 'r--p', EXE, { rss: 64, anonymous: 64, swap: 0 }) + // RELRO: relocated, then made read-only
      block('c10000-c20000', 'rw-p', EXE, { rss: 64, anonymous: 8, swap: 0 }) + // .data
      block('c20000-c30000', 'r--p', EXE, { rss: 16, anonymous: 0, swap: 16 }) + // a copy-on-write page swapped out
      block('c30000-c40000', 'r--s', EXE, CLEAN) +
      block('d00000-d40000', 'r-xp', '/usr/lib/libc.so.6', CLEAN) +
      block('d40000-d50000', 'r--p', '/usr/lib/libc.so.6', { rss: 16, anonymous: 16, swap: 0 }) + // the library's RELRO
      block('e00000-e40000', 'rw-p', '', { rss: 64, anonymous: 64, swap: 0 }) +
      block('e40000-e80000', 'r--p', '', CLEAN) + // anonymous, read-only: no file to give it back
      block('e80000-e81000', 'r-xp', '[vdso]', CLEAN) +
      block('f00000-f40000', 'r--p', EXE, { rss: 0, anonymous: 0, swap: 0 }); // nothing resident
    expect(binaryPagesToRelease(smaps)).toEqual([...range(0x400000, 0x800000), ...range(0x800000, 0xc00000), ...range(0xd00000, 0xd40000)]);
    expect(binaryPagesToRelease('')).toEqual([]);
  });

  it('keeps a mapping whose block leaves out Anonymous or Swap (an emulated /proc): it cannot be shown clean', () => {
    // The RELRO mapping of a /proc that writes no Anonymous line: its relocated pages would be dropped and re-read unrelocated.
    expect(binaryPagesToRelease(block('c00000-c10000', 'r--p', EXE, { rss: 64, swap: 0 }))).toEqual([]);
    expect(binaryPagesToRelease(block('c00000-c10000', 'r--p', EXE, { rss: 64, anonymous: 0 }))).toEqual([]);
  });

  it('a header it cannot read still ends the block before it: the next counts are never the executable mapping\'s', () => {
    const smaps =
      block('c00000-c10000', 'r--p', EXE, { rss: 64, anonymous: 64, swap: 0 }) +
      block('c10000-c20000', 'r--p', EXE, CLEAN).replace(/ 08:01 1234 +\/opt\/node\/bin\/node\n/, '\n') + // too few fields
      block('c20000-c30000', 'r-xp', EXE, CLEAN);
    expect(binaryPagesToRelease(smaps)).toEqual(range(0xc20000, 0xc30000));
  });

  it('the rest of a line longer than its buffer is never read as a header', () => {
    const fake = `7f0000000000-7f0000400000 r-xp 00000000 08:01 1234 ${EXE}\n`;
    const smaps =
      // 'VmFlags: ' and 8182 more: the buffer's 8191 characters, so the fake header is the line's rest.
      block('400000-800000', 'rw-p', '/usr/lib/libc.so.6', CLEAN).replace(  // writable: never released
        'VmFlags: rd mr mw me dw sd \n', 'VmFlags: ' + 'x'.repeat(8182) + fake) +
      'Rss:                 1024 kB\nAnonymous:              0 kB\nSwap:                   0 kB\n';
    expect(smaps).toContain('VmFlags: ' + 'x'.repeat(8182) + '7f0000000000-');
    expect(binaryPagesToRelease(smaps)).toEqual([]);
  });
});
