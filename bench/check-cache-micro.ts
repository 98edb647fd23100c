// The policy filter's per-request cost on a check cache hit, in nanoseconds of
// CPU per request, measured in-process (steady on a shared machine where a
// load run's CPU per request is not): the filter made for a request, its
// decodeHeaders answered from the cache (the bench policy row's config: check
// attributes method, path, headers, source.ip; the answer referenced the
// method only), and onDestroy; with Report on, the Report entry added to the
// worker's batch too. The cache is over a real LMDB `checkcache` database in a
// temp dir, as in a worker. Rows: the front (the common case), the LMDB second
// level alone (a front that forgets every entry, an answer without a use-count
// limit: what a worker that just started pays once per key),
// and with Report.
// Run: npm run bench:check-cache [-- iterations] (after npx tsc -p .)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { MixerFilterConfig } from '../src/config/mixer-filter-config.js';
import { MIXER_DEFAULTS } from '../src/config/mixer-filter-config.js';
import { CheckCache } from '../workers/filters/mixer/check-cache.js';
import type { CheckCacheDb } from '../workers/filters/mixer/check-cache-db.js';
import { MIXER_COUNTER_SLOTS } from '../workers/filters/mixer/mixer-counters.js';
import { MixerFilterFactory } from '../workers/filters/mixer/mixer-filter.js';
import { setPolicyTransport } from '../workers/filters/mixer/policy-transport.js';
import { ReportBatcher } from '../workers/filters/mixer/report-batcher.js';
import { RequestAttributeBag } from '../workers/filters/mixer/request-attribute-bag.js';
import type { HttpFilterCallbacks } from '../workers/filters/http-filter.js';

function config(report: boolean): MixerFilterConfig {
  return {
    ...MIXER_DEFAULTS, checkCluster: 'mixer', reportCluster: '', failPolicy: 'FAIL_OPEN', maxRetry: 0,
    mixerAttributes: [], checkAttributes: ['request.method', 'request.path', 'request.headers', 'source.ip'],
    reportAttributes: report ? ['request.method', 'request.path', 'response.code', 'response.duration', 'source.ip'] : [],
    disableCheckCalls: false, disableReportCalls: !report, quotas: [],
  };
}

/** What a request looks like to the filter (ActiveRequest's fields the bag reads). */
function request(i: number): object {
  return {
    method: 'GET', path: `/items/${i & 1023}`, query: '', authority: 'bench', headers: ['host', 'bench', 'user-agent', 'wrk', 'accept', '*/*'],
    requestId: '', scheme: 'http', bytesReceived: 0, bytesSent: 1024, responseCode: 200, startMark: 0, finished: false,
    conn: { remoteAddress: '127.0.0.1', remotePort: 40000 + (i & 63), peerUriSan: '', tlsVersion: '' },
    continueDecoding() {}, sendLocalReply() {},
  };
}

/** Median of 5 rounds of `iterations` calls, in ns of this process's CPU time per call. */
function measure(iterations: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(iterations, 100_000); i++) fn(i);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) fn(i);
    const used = process.cpuUsage(t0);
    rounds.push(((used.user + used.system) * 1e3) / iterations);
  }
  rounds.sort((a, b) => a - b);
  return rounds[2]!;
}

async function main(): Promise<void> {
  const iterations = Number(process.argv[2] ?? 300_000);
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-check-cache-micro-'));
  const env = open(dir, { maxDbs: 8, mapSize: 64 * 1024 * 1024 });
  const db = env.openDB<unknown, string>({ name: 'checkcache', encoding: 'msgpack' }) as unknown as CheckCacheDb;
  // Report batches go nowhere (the agent's side is not measured here).
  setPolicyTransport({ check: () => {}, report: () => {} });
  const listener = { statics: new Map(), destinationIp: '127.0.0.1', destinationPort: 15006 };
  const counters = new Int32Array(MIXER_COUNTER_SLOTS);
  const requests = Array.from({ length: 1024 }, (_, i) => request(i));
  const answer = { ok: true as const, code: 0, message: '', validMs: 3_600_000, validUses: 1_000_000_000, refs: [{ name: 'request.method', condition: 'EXACT' as const, mapKey: '' }], quotas: [], sharedBy: 1, first: true };
  const head = Buffer.alloc(0);
  const fields = new Uint32Array(0);
  const rows: [string, number][] = [];
  try {
    for (const [label, report, coldFront] of [['hit (front)', false, false], ['hit (front), Report on', true, false], ['hit (LMDB, front forgets)', false, true]] as const) {
      const cache = new CheckCache(db, `micro:${label}`, 10_000, () => { throw new Error('cache write failed'); });
      // A front that forgets every entry cannot hold a block of uses: that row's answer has no use-count limit.
      cache.store(coldFront ? { ...answer, validUses: 0 } : answer, new RequestAttributeBag(requests[0] as never, listener), Date.now());
      const batcher = report ? new ReportBatcher('mixer', 100, 1000) : null;
      const factory = new MixerFilterFactory(config(report), listener, cache, batcher, counters);
      rows.push([label, measure(iterations, (i) => {
        if (coldFront) (cache as unknown as { front: Map<string, unknown> }).front.clear();
        const filter = factory.create(requests[i & 1023] as unknown as HttpFilterCallbacks);
        if (filter.decodeHeaders(head, fields) !== 0) throw new Error(`${label}: not a cache hit`);
        filter.onDestroy();
      })]);
    }
    const misses = Atomics.load(counters, 1);
    for (const [label, ns] of rows) console.log(`${label.padEnd(28)} ${ns.toFixed(0).padStart(7)} ns/request`);
    console.log(`node ${process.version}, ${iterations} requests per round, median of 5 rounds of CPU time; cache misses counted: ${misses}`);
  } finally {
    await env.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
