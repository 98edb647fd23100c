// One row of the xds scenario as bench.json stores it, and its console and
// Markdown tables (report.ts adds them after the proxy results).
import type { ChangeConvergence } from './xds-convergence.js';

export interface XdsResultRow {
  readonly scenario: 'xds';
  readonly protocol: 'sotw' | 'delta';
  readonly clients: number;
  readonly threads: number;
  readonly services: number;
  /** VirtualService changes measured (0: connect-only run). */
  readonly changes: number;
  /** Clients that ACKed their initial CDS, EDS, LDS and RDS. */
  readonly connected: number;
  /** First client opened → last client had its initial config; null when not all did. */
  readonly connect_all_ms: number | null;
  /** Medians over changes (null for connect-only): convergence = change → the client's ACK of the RDS carrying it. */
  readonly acked: number | null;
  readonly p50_ms: number | null;
  readonly p90_ms: number | null;
  readonly p99_ms: number | null;
  readonly max_ms: number | null;
  /** Change → last client's ACK; null when some client never ACKed. */
  readonly all_acked_ms: number | null;
  readonly per_change: readonly ChangeConvergence[];
  /** The control process's VmHWM at the end, MB. */
  readonly control_peak_rss_mb: number;
  /** Control CPU seconds (user + system) while the clients connected, and over the changes. */
  readonly control_cpu_s_connect: number;
  readonly control_cpu_s_changes: number | null;
  readonly stream_errors: number;
  /** First few stream errors, or how the control process exited. */
  readonly notes: readonly string[];
}

export const XDS_HEADERS = [
  'scenario', 'protocol', 'clients', 'changes', 'connected', 'connect ms', 'acked', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms',
  'all acked ms', 'ctl rss MB', 'ctl cpu-s connect', 'ctl cpu-s changes', 'errors',
];

const fmt = (v: number | null): string => (v === null || !Number.isFinite(v) ? '-' : String(Math.round(v * 10) / 10));

export function xdsCells(row: XdsResultRow): string[] {
  return [
    row.scenario, row.protocol, String(row.clients), String(row.changes), String(row.connected), fmt(row.connect_all_ms),
    row.acked === null ? '-' : String(row.acked), fmt(row.p50_ms), fmt(row.p90_ms), fmt(row.p99_ms), fmt(row.max_ms),
    fmt(row.all_acked_ms), fmt(row.control_peak_rss_mb), fmt(row.control_cpu_s_connect), fmt(row.control_cpu_s_changes),
    String(row.stream_errors),
  ];
}

/** Aligned console table of the xds rows (empty string when there are none). */
export function formatXdsTable(rows: readonly XdsResultRow[]): string {
  if (rows.length === 0) return '';
  const all = [XDS_HEADERS, ...rows.map(xdsCells)];
  const widths = XDS_HEADERS.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const notes = rows.flatMap((r) => r.notes.map((n) => `xds ${r.clients} ${r.protocol}: ${n}`));
  return `${[line(all[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line), ...notes].join('\n')}\n`;
}

/** The Markdown section for bench.md (empty array when there are no rows). */
export function formatXdsMarkdown(rows: readonly XdsResultRow[]): string[] {
  if (rows.length === 0) return [];
  return [
    '## xDS convergence (control plane)',
    '',
    `| ${XDS_HEADERS.join(' | ')} |`,
    `|${XDS_HEADERS.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((row) => `| ${xdsCells(row).join(' | ')} |`),
    '',
    'Simulated sidecars (one gRPC connection and ADS stream each, in worker threads of the bench process) against a real ' +
      '`isthmus control` watching a config folder. Convergence: the bench rewrites the reviews VirtualService, each client ' +
      'finds the new revision marker inside the RouteConfiguration it receives; the figure is change → that client\'s ACK ' +
      '(includes the folder watcher\'s and the push debounce\'s 100 ms each). Medians over changes; connect ms: first client ' +
      'opened → last client ACKed its initial CDS/EDS/LDS/RDS. ctl rss is the control process\'s VmHWM, ctl cpu-s its ' +
      'utime+stime, from /proc. Goals: 1000 clients with p99 under 1 s; 5000 clients connected at once.',
    '',
  ];
}
