// Instructions per request on the TLS record path of the mTLS mesh's sidecars (issue 12), counted by callgrind:
// a figure the load of a shared machine does not move. Both sidecars run under valgrind with collection only
// inside the addon's TLS entry points (a record read: OnTlsCiphertext, which feeds and decrypts; a record write:
// WriteTls, which encrypts and sends, the send syscall included), then N ping-pong round trips are counted.
// Run: npx tsc -p . && node dist/bench/mesh-tls-callgrind.js [--requests 500] [--warmup 200] [--bin /other/bin/isthmus.js]
// Prints Ir per request for each side and entry point (--annotate: and callgrind_annotate's top functions, inclusive). Slow: valgrind runs node some 50 times slower.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { numberArg, stringArg } from './bench-args.js';
import { startMtlsMesh } from './mesh-mtls-target.js';
import { TripClient } from './mesh-round-trips.js';
import { startUpstream } from './scenarios.js';

const ENTRY_POINTS = ['isthmus::OnTlsCiphertext', 'isthmus::WriteTls'];

async function main(): Promise<void> {
  const requests = numberArg('--requests', 500, 10, 100_000);
  const warmup = numberArg('--warmup', 200, 0, 100_000);
  const bin = stringArg('--bin');
  const dir = mkdtempSync(join(tmpdir(), 'mesh-tls-callgrind-'));
  const upstream = await startUpstream(1024);
  const wrap = ['valgrind', '--tool=callgrind', '--collect-atstart=no', ...ENTRY_POINTS.map((f) => `--toggle-collect=${f}*`),
    `--callgrind-out-file=${join(dir, 'cg.%p')}`];
  const mesh = await startMtlsMesh(upstream.ready!, join(dir, 'mesh'), { wrap, ...(bin === undefined ? {} : { bin }) });
  try {
    const client = await TripClient.open(mesh.port);
    for (let i = 0; i < warmup; i++) await client.trip(60_000);
    for (const p of mesh.procs) execFileSync('callgrind_control', ['-z', String(p.pid)], { stdio: 'ignore' });
    for (let i = 0; i < requests; i++) await client.trip(60_000);
    for (const p of mesh.procs) execFileSync('callgrind_control', ['-d', String(p.pid)], { stdio: 'ignore' });
    client.close();
    for (const [i, p] of mesh.procs.entries()) {
      const dumps = readdirSync(dir).filter((f) => f.startsWith(`cg.${p.pid}.`)).sort();
      const file = join(dir, dumps.at(-1)!);
      const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const side = i === 0 ? 'client-side' : 'server-side';
      for (const f of ENTRY_POINTS) {
        const line = annotated.split('\n').find((l) => l.includes(`${f}(`) || l.includes(`${f} `) || l.endsWith(f));
        const ir = Number((line ?? '').trim().split(/\s+/)[0]?.replace(/,/g, '') ?? NaN);
        process.stdout.write(`${side} ${f}: ${(ir / requests).toFixed(0)} Ir/request\n`);
      }
      if (process.argv.includes('--annotate')) {
        // The native functions under the entry points (the JS frames' recursion counts are meaningless here).
        const native = annotated.split('\n').filter((l) => /isthmus::|ssl|SSL|BIO|tls13|EVP|gcm|aes|mem(cpy|move)|malloc|free|send/.test(l));
        process.stdout.write(native.slice(0, 45).map((l) => `  ${l.slice(0, 140)}`).join('\n') + '\n');
      }
    }
  } finally {
    for (const p of mesh.procs) await p.stop();
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
