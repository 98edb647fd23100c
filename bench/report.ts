// What the bench leaves behind: a console table, bench.json (the shape issue 5
// fixes, plus spreads, spectra, ratios and what was skipped), bench.md (the
// same table with ratios to direct and to each peer, and goals, ready to paste
// into the README) and bench.html (bench/html-report.ts).
import { cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatHtml } from './html-report.js';
import { formatParserMarkdown, formatParserTable } from './parser-table.js';
import type { ParserResultRow } from './parser-scenario.js';
import { formatCaTable, type CaResultRow } from './ca-signing.js';
import type { TcpResultRow } from './tcp-scenario.js';
import type { H2ResultRow } from './h2-scenario.js';
import { formatAccessLogCpu, type AccessLogCpuReport } from './access-log-cpu.js';
import { formatTracingCpu, type TracingCpuReport } from './tracing-cpu.js';
import { formatReportNoise, type ReportNoise } from './report-noise.js';
import type { Comparison, Ratio } from './ratios.js';
import type { ResultRow } from './result-row.js';
import { formatXdsMarkdown, formatXdsTable, type XdsResultRow } from './xds-result-row.js';

export interface MachineInfo {
  readonly cores: number;
  readonly cpu_model: string;
  readonly node: string;
}

export interface BenchReport {
  readonly machine: MachineInfo;
  /** ISO time the run finished. */
  readonly date: string;
  /** The command line that produced it. */
  readonly command: string;
  readonly settings: {
    readonly runs: number;
    readonly duration_ms: number;
    readonly warmup_ms: number;
    readonly connections: number;
    /** Fixed mode's connections (absent in reports from before it was its own setting: --connections then). */
    readonly fixed_connections?: number;
    readonly rate: number;
    readonly threads: number;
  };
  readonly skipped: readonly { readonly target: string; readonly reason: string }[];
  readonly results: readonly ResultRow[];
  readonly ratios: readonly Ratio[];
  /** Every row against direct and each peer (bench.md's ratio table). */
  readonly comparisons: readonly Comparison[];
  /** The parser scenario's rows, when it ran. */
  readonly parser?: readonly ParserResultRow[];
  /** Rows of the control plane's xds scenario, when it ran. */
  readonly xds?: readonly XdsResultRow[];
  /** The CA signing scenario, when it ran. */
  readonly ca?: CaResultRow;
  /** Rows of the tcp scenario (raw TCP relaying), when it ran. */
  readonly tcp?: readonly TcpResultRow[];
  /** Rows of the h2 scenario (gRPC unary and h2load), when it ran. */
  readonly h2?: readonly H2ResultRow[];
  /** The tracing scenario's CPU rounds (bench/tracing-cpu.ts), when they ran. */
  readonly tracing_cpu?: TracingCpuReport;
  /** The proxy scenario's access-log CPU rounds (the verdict on its 2 µs goal). */
  readonly access_log_cpu?: AccessLogCpuReport;
  /** The report scenario's p99 against Report off and the A/A control (bench/report-noise.ts), when it ran. */
  readonly report_noise?: ReportNoise;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return { cores: list.length, cpu_model: list[0]?.model.trim() ?? 'unknown', node: process.version };
}

const fmt = (value: number | null, digits = 3): string =>
  value === null || !Number.isFinite(value) ? '-' : String(Math.round(value * 10 ** digits) / 10 ** digits);

const HEADERS = ['scenario', 'target', 'row', 'mode', 'conns', 'rate', 'runs', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'errors', 'cpu-s/1k', 'rss MB'];
const LEFT_COLUMNS = 4;

/** A median with its spread when there was more than one run: `33000 (30000-36000)`. */
function withSpread(row: ResultRow, figure: 'rps' | 'p99_ms', digits = 3): string {
  const range = row.spread[figure];
  const value = fmt(row[figure], digits);
  return row.runs > 1 && range !== undefined ? `${value} (${fmt(range[0], digits)}-${fmt(range[1], digits)})` : value;
}

function cells(row: ResultRow): string[] {
  const counts = Object.entries(row.counts ?? {}).map(([name, n]) => `${n} ${name.replace(/_/g, ' ')}`);
  return [
    row.scenario,
    row.target,
    counts.length === 0 ? row.label : `${row.label} (${counts.join(', ')})`,
    row.mode,
    String(row.connections),
    row.rate === null ? '-' : String(row.rate),
    String(row.runs),
    withSpread(row, 'rps', 0),
    fmt(row.p50_ms),
    fmt(row.p90_ms),
    withSpread(row, 'p99_ms'),
    fmt(row.p999_ms),
    fmt(row.max_ms),
    String(row.errors),
    fmt(row.cpu_s_per_1k, 4),
    fmt(row.peak_rss_mb, 1),
  ];
}

function ratioLine(ratio: Ratio): [string, string, string, string] {
  const value = ratio.unit === 'x' ? `${ratio.value} x` : `${ratio.value} ${ratio.unit}`;
  const met = ratio.met === null ? '' : ratio.met ? 'met' : 'NOT met';
  const verdict = ratio.note === null ? met : `${met}${met === '' ? '' : ', '}${ratio.note}`;
  return [ratio.name, value, ratio.goal ?? '', verdict];
}

/** The console table: aligned columns, one row per result, then the ratios. */
export function formatTable(report: BenchReport): string {
  if (report.results.length === 0 && (report.xds ?? []).length > 0) {
    // An xds-only run: no empty proxy table.
    return [...report.skipped.map((sk) => `skipped ${sk.target}: ${sk.reason}\n`), formatXdsTable(report.xds!)].join('');
  }
  const rows = [HEADERS, ...report.results.map(cells)];
  const widths = HEADERS.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((cell, c) => (c < LEFT_COLUMNS ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const out = [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
  if (report.ratios.length > 0) {
    out.push('');
    const ratioRows = report.ratios.map(ratioLine);
    const w0 = Math.max(...ratioRows.map((r) => r[0].length));
    const w1 = Math.max(...ratioRows.map((r) => r[1].length));
    for (const [name, value, goal, met] of ratioRows) {
      const detail = goal === '' ? (met === '' ? '' : `  (${met})`) : `  (goal ${goal}: ${met})`;
      out.push(`${name.padEnd(w0)}  ${value.padStart(w1)}${detail}`);
    }
  }
  const parser = formatParserTable(report.parser ?? []);
  if (parser !== '') out.push('', parser.trimEnd());
  if (report.skipped.length > 0) {
    out.push('', ...report.skipped.map((s) => `skipped ${s.target}: ${s.reason}`));
  }
  const xds = formatXdsTable(report.xds ?? []);
  if (xds !== '') out.push('', xds.trimEnd());
  const ca = formatCaTable(report.ca);
  if (ca !== '') out.push('', ca.trimEnd());
  return `${out.join('\n')}\n`;
}

/** bench.md: settings, the results table, the ratios with goals, and what was skipped. */
export function formatMarkdown(report: BenchReport): string {
  const s = report.settings;
  const md: string[] = [
    '# Isthmus bench',
    '',
    `${report.date}, \`${report.command}\` on ${report.machine.cores} × ${report.machine.cpu_model}, Node ${report.machine.node}.`,
    ...(report.results.length > 0 ? [
      `Median of ${s.runs} interleaved run${s.runs === 1 ? '' : 's'} (req/s shows min-max); ${s.duration_ms / 1000} s measured after ${s.warmup_ms / 1000} s warm-up; ` +
        `${s.connections} keep-alive connections, one request in flight each, over ${s.threads} load thread${s.threads === 1 ? '' : 's'} (max mode; 1 in fixed mode); ` +
        `fixed rate ${s.rate} req/s over ${s.fixed_connections ?? s.connections} connections, each sending its own evenly spaced share (fortio -uniform's pacing), ` +
        'with latency from the intended send time; 1 KB responses. ' +
        'p99 shows min-max too; bench.json has the spread of every figure.',
    ] : []),
    '',
  ];
  if (report.results.length > 0) {
    md.push(
      `| ${HEADERS.join(' | ')} |`,
      `|${HEADERS.map((_, i) => (i < LEFT_COLUMNS ? ' --- ' : ' ---: ')).join('|')}|`,
      ...report.results.map((row) => `| ${cells(row).join(' | ')} |`),
      '',
    );
  }
  if (report.comparisons.length > 0) {
    md.push(
      'Ratios (row / versus; req/s in max mode only):',
      '',
      '| scenario | row | mode | versus | req/s x | p99 x | cpu/1k x | rss x |',
      '| --- | --- | --- | --- | ---: | ---: | ---: | ---: |',
      ...report.comparisons.map((c) => `| ${c.scenario} | ${c.label} | ${c.mode} | ${c.versus} | ${fmt(c.rps_x)} | ${fmt(c.p99_x)} | ${fmt(c.cpu_x)} | ${fmt(c.rss_x)} |`),
      '',
    );
  }
  if (report.ratios.length > 0) {
    md.push('| comparison | value | goal | |', '| --- | ---: | --- | --- |');
    for (const [name, value, goal, met] of report.ratios.map(ratioLine)) md.push(`| ${name} | ${value} | ${goal} | ${met} |`);
    md.push('');
  }
  if (report.skipped.length > 0) {
    md.push('Skipped:', '', ...report.skipped.map((sk) => `- ${sk.target}: ${sk.reason}`), '');
  }
  if (report.results.length > 0) md.push(
    'cpu-s/1k and rss MB are the proxy\'s (or peer\'s) process tree, read from /proc (utime+stime, VmHWM); ' +
      'errors are summed over runs (status >= 400, failed connections, unanswered requests).',
    '',
  );
  md.push(...formatParserMarkdown(report.parser ?? []));
  md.push(...formatXdsMarkdown(report.xds ?? []));
  const ca = formatCaTable(report.ca);
  if (ca !== '') md.push('', ca);
  if (report.access_log_cpu !== undefined) md.push('', '```', formatAccessLogCpu(report.access_log_cpu).trim(), '```', '');
  if (report.tracing_cpu !== undefined) md.push('', '```', formatTracingCpu(report.tracing_cpu).trim(), '```', '');
  if (report.report_noise !== undefined) md.push('', '```', formatReportNoise(report.report_noise).trim(), '```', '');
  return md.join('\n');
}

/** The JSON document written to bench.json. */
export function reportJson(report: BenchReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Writes bench.json, bench.md and bench.html into dir (created if needed); returns their paths. */
export function writeReport(dir: string, report: BenchReport): { json: string; markdown: string; html: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'bench.json');
  const markdown = join(dir, 'bench.md');
  const html = join(dir, 'bench.html');
  writeFileSync(json, reportJson(report));
  writeFileSync(markdown, formatMarkdown(report));
  writeFileSync(html, formatHtml(report));
  return { json, markdown, html };
}
