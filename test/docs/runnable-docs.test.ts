// Every shell block of README.md and docs/*.md marked ```sh runnable runs as
// written and prints what its ```text expected block says (ports swapped for
// free ones; conventions in doc-runner.ts), so the documentation cannot
// drift from what the commands do.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { missingExpected, runBlock } from './doc-runner.js';
import { documentationFiles, runnableBlocks } from './markdown-blocks.js';

const BLOCK_TIMEOUT_MS = 90_000;
const blocks = documentationFiles().flatMap((file) => runnableBlocks(file));

describe('runnable documentation', () => {
  it('has curl and bash, which the examples use', () => {
    for (const tool of ['curl', 'bash']) {
      expect(spawnSync(tool, ['--version']).status, `${tool} is not installed: the documentation's examples need it (apt-get install ${tool})`).toBe(0);
    }
  });

  it('has runnable blocks in the README, and each of them checks some output', () => {
    expect(blocks.filter((b) => b.file === 'README.md').length).toBeGreaterThanOrEqual(2);
    for (const b of blocks) expect(b.expected.length, `${b.file}:${b.line} has no \`\`\`text expected block`).toBeGreaterThan(0);
  });

  it.each(blocks.map((b) => [`${b.file}:${b.line}`, b] as const))('%s runs as written', async (_name, block) => {
    const run = await runBlock(block, BLOCK_TIMEOUT_MS);
    const report = `\n--- block (as run)\n${run.script}\n--- output\n${run.output}\n${run.logs}`;
    expect(run.timedOut, `timed out after ${BLOCK_TIMEOUT_MS} ms${report}`).toBe(false);
    expect(run.code, `exit code${report}`).toBe(0);
    expect(missingExpected(run.output, run.expected), `expected lines missing from the output${report}`).toEqual([]);
  }, BLOCK_TIMEOUT_MS + 30_000);
});
