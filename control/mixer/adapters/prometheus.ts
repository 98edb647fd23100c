// Istio's `prometheus` adapter: metric instances (value + dimensions) become
// Prometheus counters, gauges and histograms, exposed as text by metricsText()
// (the control plane appends it to its /metrics). Series are bounded
// (maxSeries): a new label combination past the bound is dropped and counted
// in isthmus_mixer_prometheus_dropped_series_total, so request attributes used
// as labels cannot grow memory without limit. metricsExpirationPolicy drops a
// series that has not been updated for metricsExpiryDuration.
import type { Adapter, AdapterHandler, HandlerContext, InstanceValue } from '../adapter.js';
import { fieldMap, valueNumber, valueString } from './instance-fields.js';
import { parsePrometheusParams, type PrometheusMetric, type PrometheusParams } from './prometheus-params.js';

/** Label values come from requests; longer ones are cut so maxSeries bounds memory. */
export const MAX_LABEL_VALUE_LENGTH = 1024;
/** A full handler looks for expired series at most this often (each look walks every series). */
const EXPIRY_SCAN_MS = 1000;

interface Series {
  readonly labels: readonly string[];
  value: number;
  /** Cumulative counts per finite bucket (DISTRIBUTION). */
  readonly buckets: Float64Array | null;
  count: number;
  lastUpdate: number;
}

/** Takes a label value; returns it escaped for the text format (backslash, double quote, newline). */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((name, i) => `${name}="${escapeLabelValue(values[i])}"`);
  if (extra !== '') parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

class PrometheusHandler implements AdapterHandler {
  private readonly byInstance = new Map<string, PrometheusMetric[]>();
  private readonly series = new Map<PrometheusMetric, Map<string, Series>>();
  private seriesCount = 0;
  private droppedSeries = 0;
  private rejectedValues = 0;
  private lastExpiryScan = -Infinity;

  constructor(private readonly params: PrometheusParams, private readonly context: HandlerContext, private readonly now: () => number) {
    for (const metric of params.metrics) {
      const list = this.byInstance.get(metric.instanceName) ?? [];
      list.push(metric);
      this.byInstance.set(metric.instanceName, list);
      this.series.set(metric, new Map());
    }
  }

  report(instances: readonly InstanceValue[]): void {
    const now = this.now();
    for (const instance of instances) {
      const metrics = this.byInstance.get(instance.name);
      if (metrics === undefined) continue;
      let value = valueNumber(instance.fields.value);
      if (value === undefined) {
        this.rejectedValues++;
        continue;
      }
      // a duration is milliseconds in the instance; Prometheus wants seconds
      if (instance.valueTypes?.value === 'DURATION') value /= 1000;
      const dimensions = fieldMap(instance, 'dimensions');
      for (const metric of metrics) this.record(metric, dimensions, value, now);
    }
  }

  private record(metric: PrometheusMetric, dimensions: Readonly<Record<string, unknown>>, value: number, now: number): void {
    const labels = metric.labelNames.map((name) => valueString(dimensions[name]).slice(0, MAX_LABEL_VALUE_LENGTH));
    const key = labels.join('\u0000');
    const bySeries = this.series.get(metric)!;
    let series = bySeries.get(key);
    if (series === undefined) {
      if (this.seriesCount >= this.params.maxSeries && !this.expire(now)) {
        if (this.droppedSeries++ === 0) this.context.log.warn({ handler: this.context.handlerName, maxSeries: this.params.maxSeries }, 'prometheus series limit reached: new series dropped');
        return;
      }
      series = { labels, value: 0, buckets: metric.kind === 'DISTRIBUTION' ? new Float64Array(metric.bounds.length) : null, count: 0, lastUpdate: now };
      bySeries.set(key, series);
      this.seriesCount++;
    }
    series.lastUpdate = now;
    if (metric.kind === 'GAUGE') series.value = value;
    else if (metric.kind === 'COUNTER') series.value += value;
    else {
      series.value += value;
      series.count++;
      const { bounds } = metric;
      for (let i = bounds.length - 1; i >= 0 && value <= bounds[i]; i--) series.buckets![i]++;
    }
  }

  /** Drops series not updated within metricsExpiryDuration; returns true when there is room for a new one. */
  private expire(now: number): boolean {
    const expiry = this.params.metricsExpiryMs;
    if (expiry > 0 && now - this.lastExpiryScan >= EXPIRY_SCAN_MS) {
      this.lastExpiryScan = now;
      for (const bySeries of this.series.values()) {
        for (const [key, series] of bySeries) {
          if (now - series.lastUpdate >= expiry) {
            bySeries.delete(key);
            this.seriesCount--;
          }
        }
      }
    }
    return this.seriesCount < this.params.maxSeries;
  }

  metricsText(): string {
    this.expire(this.now());
    const out: string[] = [];
    for (const [metric, bySeries] of this.series) {
      const type = metric.kind === 'DISTRIBUTION' ? 'histogram' : metric.kind === 'GAUGE' ? 'gauge' : 'counter';
      out.push(`# HELP ${metric.name} ${escapeHelp(metric.description || metric.name)}`, `# TYPE ${metric.name} ${type}`);
      for (const series of bySeries.values()) {
        if (series.buckets === null) {
          out.push(`${metric.name}${labelText(metric.labelNames, series.labels)} ${formatNumber(series.value)}`);
          continue;
        }
        metric.bounds.forEach((bound, i) => {
          out.push(`${metric.name}_bucket${labelText(metric.labelNames, series.labels, `le="${formatNumber(bound)}"`)} ${series.buckets![i]}`);
        });
        out.push(`${metric.name}_bucket${labelText(metric.labelNames, series.labels, 'le="+Inf"')} ${series.count}`);
        out.push(`${metric.name}_sum${labelText(metric.labelNames, series.labels)} ${formatNumber(series.value)}`);
        out.push(`${metric.name}_count${labelText(metric.labelNames, series.labels)} ${series.count}`);
      }
    }
    const handler = `{handler="${escapeLabelValue(this.context.handlerName)}"}`;
    out.push(
      '# HELP isthmus_mixer_prometheus_dropped_series_total New series dropped because the handler held maxSeries series.',
      '# TYPE isthmus_mixer_prometheus_dropped_series_total counter',
      `isthmus_mixer_prometheus_dropped_series_total${handler} ${this.droppedSeries}`,
      '# HELP isthmus_mixer_prometheus_rejected_values_total Metric instances whose value was not a number.',
      '# TYPE isthmus_mixer_prometheus_rejected_values_total counter',
      `isthmus_mixer_prometheus_rejected_values_total${handler} ${this.rejectedValues}`,
    );
    return `${out.join('\n')}\n`;
  }

  close(): void {
    this.series.clear();
  }
}

/** Takes validated params, a context and a clock; returns a prometheus handler (tests may pass a fake clock). */
export function createPrometheusHandler(params: PrometheusParams, context: HandlerContext, now: () => number = Date.now): AdapterHandler {
  return new PrometheusHandler(params, context, now);
}

export const prometheusAdapter: Adapter = {
  name: 'prometheus',
  templates: ['metric'],
  parseParams: parsePrometheusParams,
  createHandler: (params, context) => createPrometheusHandler(params as PrometheusParams, context),
  inline: () => true,
};
