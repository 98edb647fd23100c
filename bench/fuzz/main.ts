// `npm run fuzz [-- --seconds N] [--execs N] [--seed N]`: differential fuzzing
// of the native HTTP parsers against llhttp (differential-fuzzer.ts). Prints
// the executions, the disagreements by known class, and every finding; exits 1
// on a finding. Not part of `npm test` (test/bench/fuzz.test.ts runs a few
// thousand executions to keep it working).
import { parseArgs } from 'node:util';
import { DifferentialFuzzer, REFUSED_AT_ANOTHER_BYTE } from './differential-fuzzer.js';
import { CHUNKED_DIFFERENCES, HEAD_DIFFERENCES } from './known-differences.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    execs: { type: 'string', default: '10000000' },
    seed: { type: 'string', default: String(Date.now() % 0x7fffffff) },
  },
});
const options = { seconds: Number(values.seconds), execs: Number(values.execs), seed: Number(values.seed) };
for (const [name, v] of Object.entries(options)) {
  if (!Number.isInteger(v) || v <= 0) {
    process.stderr.write(`fuzz: --${name} must be a positive integer, got '${String(values[name as keyof typeof values])}'\n`);
    process.exit(2);
  }
}

const report = new DifferentialFuzzer().run(options);
const reasons = new Map([...HEAD_DIFFERENCES, ...CHUNKED_DIFFERENCES, REFUSED_AT_ANOTHER_BYTE].map((c) => [c.name, c.reason]));
const lines = [
  `fuzz: ${report.execs} executions (head vs llhttp, chunked body vs llhttp, partial-head check vs parser) in ${report.seconds.toFixed(1)} s (seed ${report.seed}, ${Math.round(report.execs / report.seconds)}/s)`,
  `  agreed with llhttp: ${report.agreed}`,
  '  known differences:',
  ...[...report.explained].sort((a, b) => b[1] - a[1]).map(([name, n]) => `    ${String(n).padStart(9)}  ${name}${reasons.has(name) ? `: ${reasons.get(name)}` : ''}`),
  `  findings: ${report.findings.length}`,
  ...report.findings.map((f) => `    [${f.kind}] ${f.input}\n      ours: ${f.ours}\n      llhttp: ${f.theirs}`),
];
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(report.findings.length > 0 ? 1 : 0);
