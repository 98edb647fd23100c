// The README stays short, every relative link in README.md and docs/*.md
// (and every docs/ path named in examples/) points at a file that exists
// (and at a heading that exists, for #anchors), and user documentation
// carries no project-internal history.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/isthmus-process.js';
import { documentationFiles, headingAnchors, links } from './markdown-blocks.js';

const README_LIMIT_BYTES = 12 * 1024;

function read(file: string): string {
  return readFileSync(join(ROOT, file), 'utf8');
}

/** Problems with one link target written in `file`, or null when it resolves. */
function linkProblem(file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return null; // https:, mailto:
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
  const path = pathPart === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURIComponent(pathPart));
  if (!existsSync(path)) return `${target}: no file ${relative(ROOT, path)}`;
  if (anchor !== undefined && anchor !== '' && path.endsWith('.md') && !headingAnchors(readFileSync(path, 'utf8')).has(anchor)) {
    return `${target}: no heading #${anchor} in ${relative(ROOT, path)}`;
  }
  return null;
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    return statSync(join(ROOT, rel)).isDirectory() ? filesUnder(rel) : [rel];
  });
}

describe('documentation files', () => {
  it(`README.md is under ${README_LIMIT_BYTES} bytes and keeps the quickstart commands`, () => {
    const readme = read('README.md');
    expect(Buffer.byteLength(readme)).toBeLessThan(README_LIMIT_BYTES);
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
  });

  it('every relative link in README.md and docs/*.md resolves, anchors included', () => {
    const problems: string[] = [];
    for (const file of documentationFiles()) {
      for (const link of links(read(file))) {
        const problem = linkProblem(file, link.target);
        if (problem !== null) problems.push(`${file}:${link.line}: ${problem}`);
      }
    }
    expect(problems).toEqual([]);
    expect(documentationFiles().length).toBeGreaterThan(5);
  });

  it('every docs/*.md named in examples/ exists', () => {
    const problems: string[] = [];
    for (const file of filesUnder('examples')) {
      for (const m of read(file).matchAll(/docs\/[\w./-]+\.md/g)) {
        if (!existsSync(join(ROOT, m[0]))) problems.push(`${file}: ${m[0]}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('user documentation names no issue numbers, commits or machine paths', () => {
    const problems: string[] = [];
    for (const file of documentationFiles()) {
      read(file).split('\n').forEach((line, i) => {
        if (/\/work\/|\/tmp\/[a-z]|\bissue\s+#?\d+|\bcommit\s+[0-9a-f]{7,}\b/i.test(line)) problems.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(problems).toEqual([]);
  });
});
