// bench.html: one self-contained page (inline CSS and SVG, no script, no
// network) with a latency spectrum per scenario and mode, one line per target,
// and bars for throughput, CPU per 1000 requests, peak RSS and parse time.
import type { BenchReport } from './report.js';
import type { ResultRow } from './result-row.js';
import { barsSvg, escapeXml, spectrumSvg, type Bar } from './svg-charts.js';

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
svg{display:block;margin:12px 0}.title{font-weight:600;font-size:14px}.tick,.legend{font-size:12px}
.axis{font-size:12px;fill:#555}.frame{fill:none;stroke:#999}.grid{stroke:#eee}.note{color:#555}`;

const fmt = (v: number | null, digits = 3): string => (v === null || !Number.isFinite(v) ? '-' : String(Math.round(v * 10 ** digits) / 10 ** digits));

function rowName(row: ResultRow): string {
  return row.client === 'wrk' ? `${row.label} (wrk)` : row.label;
}

function spread(row: ResultRow, figure: 'rps' | 'cpu_s_per_1k' | 'peak_rss_mb', digits: number): string {
  const range = row.spread[figure];
  const value = fmt(row[figure], digits);
  return row.runs > 1 && range !== undefined ? `${value} (${fmt(range[0], digits)}-${fmt(range[1], digits)})` : value;
}

function spectra(results: readonly ResultRow[]): string[] {
  const out: string[] = [];
  const scenarios = [...new Set(results.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    for (const mode of ['max', 'fixed'] as const) {
      const rows = results.filter((r) => r.scenario === scenario && r.mode === mode);
      if (rows.length === 0) continue;
      const rate = rows[0]!.rate;
      const title = `${scenario}: latency by percentile, ${mode === 'max' ? `max throughput, ${rows[0]!.connections} connections` : `fixed ${rate} req/s (from intended send time)`}`;
      out.push(spectrumSvg(title, rows.map((r) => ({ name: rowName(r), points: r.spectrum }))));
    }
  }
  return out;
}

function bars(results: readonly ResultRow[]): string[] {
  const out: string[] = [];
  const max = results.filter((r) => r.mode === 'max');
  const named = (r: ResultRow): string => `${r.scenario} / ${rowName(r)}`;
  if (max.length > 0) out.push(barsSvg('Throughput, req/s (max mode)', max.map((r): Bar => ({ name: named(r), value: r.rps, text: spread(r, 'rps', 0) }))));
  const cpu = results.filter((r) => r.cpu_s_per_1k !== null);
  if (cpu.length > 0) {
    out.push(barsSvg('CPU seconds per 1000 requests (proxies and peers)', cpu.map((r): Bar => ({ name: `${named(r)} ${r.mode}`, value: r.cpu_s_per_1k!, text: spread(r, 'cpu_s_per_1k', 4) }))));
  }
  const rss = max.filter((r) => r.peak_rss_mb !== null);
  if (rss.length > 0) out.push(barsSvg('Peak RSS, MB (summed over the scenario\'s proxies)', rss.map((r): Bar => ({ name: named(r), value: r.peak_rss_mb!, text: spread(r, 'peak_rss_mb', 1) }))));
  return out;
}

function resultsTable(results: readonly ResultRow[]): string {
  const head = ['scenario', 'row', 'mode', 'runs', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'errors', 'cpu-s/1k', 'rss MB'];
  const rows = results.map((r) =>
    [r.scenario, rowName(r), r.mode, String(r.runs), spread(r, 'rps', 0), fmt(r.p50_ms), fmt(r.p99_ms), fmt(r.p999_ms), fmt(r.max_ms), String(r.errors), fmt(r.cpu_s_per_1k, 4), fmt(r.peak_rss_mb, 1)]);
  return table(head, rows);
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = (r: readonly string[], tag: string): string => `<tr>${r.map((c) => `<${tag}>${escapeXml(c)}</${tag}>`).join('')}</tr>`;
  return `<table>${cells(head, 'th')}${rows.map((r) => cells(r, 'td')).join('')}</table>`;
}

export function formatHtml(report: BenchReport): string {
  const m = report.machine;
  const body: string[] = [
    '<h1>Isthmus bench</h1>',
    `<p class="note">${escapeXml(report.date)} · <code>${escapeXml(report.command)}</code> · ${m.cores} × ${escapeXml(m.cpu_model)} · Node ${escapeXml(m.node)} · ` +
      `median of ${report.settings.runs} interleaved run(s), ${report.settings.duration_ms / 1000} s each after ${report.settings.warmup_ms / 1000} s warm-up</p>`,
  ];
  if (report.results.length > 0) {
    body.push('<h2>Latency spectra</h2>', '<p class="note">x: percentile on a log scale of 1/(1-p) (as HdrHistogram\'s plotter); y: latency in ms; all runs\' latencies together.</p>');
    body.push(...spectra(report.results));
    body.push('<h2>Throughput, CPU and memory</h2>', ...bars(report.results));
    body.push('<h2>Results</h2>', resultsTable(report.results));
  }
  if (report.ratios.length > 0) {
    body.push('<h2>Comparisons</h2>', table(['comparison', 'value', 'goal', ''], report.ratios.map((r) => [r.name, `${r.value} ${r.unit}`, r.goal ?? '', r.met === null ? '' : r.met ? 'met' : 'NOT met'])));
  }
  const parser = report.parser ?? [];
  if (parser.length > 0) {
    body.push('<h2>Request-head parsing</h2>');
    for (const head of [...new Set(parser.map((r) => r.head))]) {
      const rows = parser.filter((r) => r.head === head);
      body.push(barsSvg(`${head} (${rows[0]!.head_bytes} bytes): ns per parse`, rows.map((r): Bar => ({ name: r.parser, value: r.ns_per_parse, text: `${r.ns_per_parse} ns` }))));
    }
  }
  const xds = report.xds ?? [];
  if (xds.length > 0) {
    body.push('<h2>Control plane: xDS convergence</h2>', table(
      ['protocol', 'clients', 'connected', 'connect ms', 'p50 ms', 'p99 ms', 'max ms', 'control rss MB'],
      xds.map((x) => [x.protocol, String(x.clients), String(x.connected), fmt(x.connect_all_ms, 1), fmt(x.p50_ms, 1), fmt(x.p99_ms, 1), fmt(x.max_ms, 1), fmt(x.control_peak_rss_mb, 1)]),
    ));
  }
  if (report.skipped.length > 0) body.push('<h2>Skipped</h2>', `<ul>${report.skipped.map((s) => `<li>${escapeXml(`${s.target}: ${s.reason}`)}</li>`).join('')}</ul>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Isthmus bench ${escapeXml(report.date)}</title>
<style>${STYLE}</style></head>
<body>
${body.join('\n')}
</body></html>
`;
}
