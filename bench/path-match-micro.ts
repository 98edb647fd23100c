// Per-request path costs, in nanoseconds per call: a safe_regex full match on
// RE2 (re2js) against a backtracking RegExp for the same typical route
// regexes (what moving to a linear-time engine costs per regex route tried),
// and the HTTP connection manager's path normalization on paths that need
// nothing (the common case: one scan), on paths that need work, and on a
// hostile 60 KB path (the cost must stay linear in the length).
// Run: npm run bench:path [-- iterations] (after npm install or npx tsc -p .)
import type { PathNormalization } from '../src/config/bootstrap-types.js';
import { compileFullMatch } from '../src/config/re2-regex.js';
import { normalizeRequestPath } from '../src/routing/path-normalization.js';

const REGEXES = ['/api/v[0-9]+/users/[^/]+', '/static/.*', '(?i)/health(z)?'] as const;
const PATHS = ['/api/v2/users/alice', '/api/v2/users/alice/orders', '/static/app.min.js', '/HealthZ'] as const;
const MESH: PathNormalization = { normalizePath: true, mergeSlashes: true, escapedSlashes: 'KEEP_UNCHANGED' };

/** Median of 5 rounds of `iterations` calls, in ns of this process's CPU time per call (steadier than wall time on a shared machine). */
function measure(iterations: number, fn: (i: number) => number): number {
  let sink = 0;
  for (let i = 0; i < Math.min(iterations, 200_000); i++) sink += fn(i);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) sink += fn(i);
    const used = process.cpuUsage(t0);
    rounds.push(((used.user + used.system) * 1e3) / iterations);
  }
  if (sink === -1) console.log(sink); // keeps the loop observable
  rounds.sort((a, b) => a - b);
  return rounds[2]!;
}

function main(): void {
  const iterations = Number(process.argv[2] ?? 1_000_000);
  const rows: string[][] = [['what', 'ns/call']];
  for (const source of REGEXES) {
    const re2 = compileFullMatch(source);
    const icase = source.startsWith('(?i)');
    const js = new RegExp(`^(?:${icase ? source.slice(4) : source})$`, icase ? 'i' : '');
    rows.push([`RE2 (re2js)  ${source}`, measure(iterations, (i) => (re2.testExact(PATHS[i & 3]!) ? 1 : 0)).toFixed(1)]);
    rows.push([`RegExp       ${source}`, measure(iterations, (i) => (js.test(PATHS[i & 3]!) ? 1 : 0)).toFixed(1)]);
  }
  const result = { path: '' };
  const plain = ['/api/v2/users/alice', '/static/app.min.js', '/reviews/0', '/a-b_c~d/e.f'];
  const work = ['/x/../admin', '//admin', '/%61dmin', '/a/./b/%7Ec'];
  rows.push(['normalize: path needing nothing', measure(iterations, (i) => normalizeRequestPath(plain[i & 3]!, MESH, result))
    .toFixed(1)]);
  rows.push(['normalize: path needing work', measure(iterations >> 2, (i) => normalizeRequestPath(work[i & 3]!, MESH, result))
    .toFixed(1)]);
  // A hostile 60 KB path (deep, then climbing back with a segment between each ".."): linear, not quadratic.
  const hostile = '/' + 'a/'.repeat(10_000) + '../b/'.repeat(8_000);
  rows.push(['normalize: 60 KB hostile path (ns/path)', measure(20, () => normalizeRequestPath(hostile, MESH, result)).toFixed(0)]);
  const widths = rows[0]!.map((_, k) => Math.max(...rows.map((r) => r[k]!.length)));
  for (const r of rows) console.log(r.map((cell, k) => (k === 0 ? cell.padEnd(widths[k]!) : cell.padStart(widths[k]!))).join('  '));
  console.log(`node ${process.version}, ${iterations} calls per round, median of 5 rounds of CPU time; paths: ${PATHS.join(' ')}`);
}

main();
