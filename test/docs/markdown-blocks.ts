// Reads the parts of our Markdown the documentation tests check: fenced code
// blocks (with their info string), links, and the anchors GitHub gives
// headings. A small reader for the Markdown we write, not a full CommonMark
// parser: fences are top-level ``` lines.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/isthmus-process.js';

export interface Fence {
  /** Words after the opening ```, e.g. ['sh', 'runnable']. */
  readonly info: readonly string[];
  readonly body: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

/** Every fenced code block of `markdown`, in order. */
export function fences(markdown: string): Fence[] {
  const out: Fence[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]!);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    out.push({ info: open[1]!.trim().split(/\s+/).filter((w) => w !== ''), body: body.join('\n'), line: start + 1 });
  }
  return out;
}

/** A shell block the docs test runs: ```sh runnable, with the ```text expected block that follows it, if any. */
export interface RunnableBlock {
  /** Path relative to the repository root. */
  readonly file: string;
  readonly line: number;
  readonly script: string;
  /** Lines that must appear in the block's output, in this order (each as part of an output line). */
  readonly expected: readonly string[];
}

export function runnableBlocks(file: string): RunnableBlock[] {
  const blocks: RunnableBlock[] = [];
  let last: { line: number; script: string; expected: string[] } | null = null;
  for (const f of fences(readFileSync(join(ROOT, file), 'utf8'))) {
    if (f.info[0] === 'sh' && f.info.includes('runnable')) {
      last = { line: f.line, script: f.body, expected: [] };
      blocks.push({ file, line: f.line, script: f.body, expected: last.expected });
    } else if (f.info[0] === 'text' && f.info.includes('expected')) {
      if (last === null) throw new Error(`${file}:${f.line}: a \`\`\`text expected block with no runnable block before it`);
      last.expected.push(...f.body.split('\n').map((l) => l.trimEnd()).filter((l) => l !== ''));
    }
  }
  return blocks;
}

/** The text with fenced blocks and inline code blanked out (links inside code are not links). */
function withoutCode(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```\s*$/gm, (m) => m.replace(/[^\n]/g, ' ')).replace(/`[^`\n]*`/g, (m) => ' '.repeat(m.length));
}

export interface Link {
  readonly target: string;
  readonly line: number;
}

/** Inline links `[text](target)` and reference definitions `[id]: target` outside code. */
export function links(markdown: string): Link[] {
  const text = withoutCode(markdown);
  const out: Link[] = [];
  const lineOf = (index: number): number => text.slice(0, index).split('\n').length;
  for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1]!, line: lineOf(m.index) });
  for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)) out.push({ target: m[1]!, line: lineOf(m.index) });
  return out;
}

/** The anchors GitHub makes for the headings of `markdown` (lowercased, punctuation dropped, spaces to '-', repeats numbered). */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of withoutCodeBlocks(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

function withoutCodeBlocks(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```\s*$/gm, '');
}

/** README.md and every docs/*.md, relative to the repository root. */
export function documentationFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}
