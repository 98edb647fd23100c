// The control plane's dashboard: a static page (control/dashboard/static/,
// plain HTML, CSS and JS: no build step, nothing fetched from elsewhere) and
// the JSON it polls, on the admin port:
//   GET /dashboard                 the page
//   GET /dashboard/<file>          its script and style sheet
//   GET /dashboard/api/state       graph, golden signals, sync, config, traces (dashboard-view.ts)
// Metrics are pulled on a timer only while someone looks: the first state
// request starts the pulls, and they stop once nobody has asked for
// `idleStopMs`. A pull never overlaps the previous one.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JSON_TYPE, type AdminRoute, type Reply } from '../../src/admin/admin-http.js';
import type { Logger } from '../../src/log.js';
import type { AdsServer } from '../xds/ads-server.js';
import type { MeshPublisher } from '../mesh/mesh-publisher.js';
import { buildSyncz } from '../mesh/sync-status.js';
import type { ConfigStore } from '../store/config-store.js';
import type { SpanStore } from '../tracing/span-store.js';
import { buildDashboardState } from './dashboard-view.js';
import type { PullRound } from './mesh-figures.js';
import { MeshSeries } from './mesh-series.js';
import { PrometheusServerSource } from './prometheus-server-source.js';
import { scrapeTargets, SidecarMetricsSource } from './sidecar-metrics-source.js';

export interface DashboardOptions {
  /** Pull period, ms; 0 turns pulls off (the page then shows config, sync and traces only). */
  readonly intervalMs: number;
  /** A Prometheus server's base URL to query instead of the sidecars; null: pull the sidecars. */
  readonly prometheusUrl: string | null;
  /** Pulls stop this long after the last state request. */
  readonly idleStopMs?: number;
}

export interface DashboardParts {
  readonly ads: AdsServer;
  readonly publisher: MeshPublisher;
  readonly store: ConfigStore;
  readonly spans: SpanStore;
}

const STATIC_FILES: readonly (readonly [string, string, string])[] = [
  ['/dashboard', 'index.html', 'text/html; charset=utf-8'],
  ['/dashboard/', 'index.html', 'text/html; charset=utf-8'],
  ['/dashboard/dashboard.js', 'dashboard.js', 'text/javascript; charset=utf-8'],
  ['/dashboard/dashboard-charts.js', 'dashboard-charts.js', 'text/javascript; charset=utf-8'],
  ['/dashboard/dashboard.css', 'dashboard.css', 'text/css; charset=utf-8'],
];

// Only this origin's files and JSON: no inline script, no other host, not framed.
const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['content-security-policy', "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
  ['cache-control', 'no-cache'],
];

const STATE_HEADERS: readonly (readonly [string, string])[] = [['cache-control', 'no-store'], ['x-content-type-options', 'nosniff']];

/** The folder of the page's files: beside this module in the source tree, or under the repo root from dist/. */
function staticDir(): string {
  const fromDist = fileURLToPath(new URL('../../../control/dashboard/static/', import.meta.url));
  return existsSync(fromDist) ? fromDist : fileURLToPath(new URL('./static/', import.meta.url));
}

export class Dashboard {
  readonly series = new MeshSeries();
  private readonly source: { pull(): Promise<PullRound>; close?(): void };
  private timer: NodeJS.Timeout | null = null;
  private pulling = false;
  private lastViewAt = 0;
  private closed = false;
  private readonly idleStopMs: number;
  /** Pull rounds done (for tests and the bench). */
  pulls = 0;

  constructor(private readonly parts: DashboardParts, private readonly options: DashboardOptions, private readonly log: Logger) {
    this.idleStopMs = options.idleStopMs ?? Math.max(30_000, 3 * options.intervalMs);
    this.source = options.prometheusUrl !== null
      ? new PrometheusServerSource(options.prometheusUrl)
      : new SidecarMetricsSource(() => scrapeTargets(parts.ads.status()));
  }

  routes(): AdminRoute[] {
    const dir = staticDir();
    const files: AdminRoute[] = STATIC_FILES.map(([path, file, type]) => {
      const body = readFileSync(`${dir}${file}`, 'utf8');
      const r: Reply = { status: 200, contentType: type, body, headers: SECURITY_HEADERS };
      return { method: 'GET', path, handle: () => r };
    });
    return [
      ...files,
      { method: 'GET', path: '/dashboard/api/state', handle: () => this.stateReply() },
    ];
  }

  private stateReply(): Reply {
    this.viewed();
    const { ads, publisher, store, spans } = this.parts;
    const streams = ads.status();
    const versions = new Map<string, string>();
    for (const s of streams) {
      const v = s.node.metadata.VERSION;
      versions.set(s.node.id, typeof v === 'string' ? v.slice(0, 64) : '');
    }
    const state = buildDashboardState({
      syncz: buildSyncz(streams, (id) => publisher.node(id)),
      versionOf: (id) => versions.get(id) ?? '',
      series: this.series,
      source: this.options.prometheusUrl === null ? 'sidecars' : 'prometheus',
      intervalMs: this.options.intervalMs,
      statuses: store.statuses(),
      fileProblems: store.fileProblems(),
      traces: spans.summaries(20),
      spans: {
        accepted: spans.counters.accepted,
        dropped: Object.values(spans.counters.dropped).reduce((a, b) => a + b, 0),
        traces: spans.size,
      },
    });
    // Compact: the page polls this every 2 s, so no indentation to build and send.
    return { status: 200, contentType: JSON_TYPE, body: JSON.stringify(state), headers: STATE_HEADERS };
  }

  /** A state request: starts the pulls when they are not running. */
  viewed(): void {
    this.lastViewAt = Date.now();
    if (this.timer !== null || this.closed || this.options.intervalMs <= 0) return;
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (Date.now() - this.lastViewAt > this.idleStopMs) {
      this.stop();
      return;
    }
    if (this.pulling) return;
    this.pulling = true;
    try {
      const round = await this.source.pull();
      if (this.closed) return;
      this.series.add(round);
      this.pulls++;
      if (round.failures.length > 0) this.log.debug({ failures: round.failures }, 'dashboard metric pull: some targets failed');
    } catch (err) {
      this.log.warn({ err }, 'dashboard metric pull failed');
    } finally {
      this.pulling = false;
    }
  }

  private stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.source.close?.();
  }

  close(): void {
    this.closed = true;
    this.stop();
  }
}
