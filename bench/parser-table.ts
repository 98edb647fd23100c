// The parser scenario's rows as the console and bench.md show them: one line
// per head and parser, ns per parse and the ratio to Isthmus's native parser.
import type { ParserResultRow } from './parser-scenario.js';

const BASELINE = 'isthmus native (offsets)';

function ratioToNative(rows: readonly ParserResultRow[], row: ParserResultRow): string {
  const native = rows.find((r) => r.head === row.head && r.parser === BASELINE);
  return native === undefined || native.ns_per_parse <= 0 ? '-' : `${Math.round((row.ns_per_parse / native.ns_per_parse) * 100) / 100} x`;
}

export function formatParserTable(rows: readonly ParserResultRow[]): string {
  if (rows.length === 0) return '';
  const lines = rows.map((r) => [r.head, `${r.head_bytes} B`, r.parser, `${r.ns_per_parse} ns`, ratioToNative(rows, r)]);
  const widths = [0, 1, 2, 3, 4].map((c) => Math.max(...lines.map((l) => l[c]!.length)));
  return `${lines.map((l) => l.map((cell, c) => (c === 1 || c >= 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ')).join('\n')}\n`;
}

export function formatParserMarkdown(rows: readonly ParserResultRow[]): string[] {
  if (rows.length === 0) return [];
  return [
    `Request-head parsing (\`parser\` scenario), ns per parse, median of 5 rounds; x is the ratio to "${BASELINE}":`,
    '',
    '| head | bytes | headers | parser | ns/parse | x |',
    '| --- | ---: | ---: | --- | ---: | ---: |',
    ...rows.map((r) => `| ${r.head} | ${r.head_bytes} | ${r.headers} | ${r.parser} | ${r.ns_per_parse} | ${ratioToNative(rows, r)} |`),
    '',
  ];
}
