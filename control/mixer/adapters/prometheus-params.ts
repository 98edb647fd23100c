// The `prometheus` adapter's params (Istio's MetricInfo list), validated into
// metric definitions with their full Prometheus names and bucket bounds.
import { AdapterParamError } from '../adapter.js';
import { fieldPath, readDurationMs, readEnum, readList, readNumber, readObject, readString, readStringList, rawField, type ParamObject } from './adapter-params.js';

export type PrometheusKind = 'COUNTER' | 'GAUGE' | 'DISTRIBUTION';

export interface PrometheusMetric {
  /** The full name (namespace_name). */
  readonly name: string;
  readonly instanceName: string;
  readonly description: string;
  readonly kind: PrometheusKind;
  readonly labelNames: readonly string[];
  /** Upper bounds of the finite buckets, increasing (DISTRIBUTION only). */
  readonly bounds: readonly number[];
}

export interface PrometheusParams {
  readonly metrics: readonly PrometheusMetric[];
  /** 0: series never expire. */
  readonly metricsExpiryMs: number;
  /** Isthmus: the most series (label value combinations) the handler keeps; past it new series are dropped and counted. */
  readonly maxSeries: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MAX_BUCKETS = 200;

/** Takes any text; returns a Prometheus-safe name (invalid characters become '_'), as Istio does for instance names. */
export function sanitizeMetricName(text: string): string {
  const safe = text.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(safe) ? `_${safe}` : safe;
}

function readBounds(buckets: ParamObject, path: string): number[] {
  const kinds = ['explicitBuckets', 'linearBuckets', 'exponentialBuckets'].filter((k) => rawField(buckets, k) !== undefined);
  if (kinds.length !== 1) throw new AdapterParamError(path, `${path} must have exactly one of explicitBuckets, linearBuckets, exponentialBuckets`);
  const kind = kinds[0];
  const where = fieldPath(path, kind);
  if (kind === 'explicitBuckets') {
    const explicit = readObject(rawField(buckets, kind), where, ['bounds']);
    const bounds = readList(explicit, 'bounds', where, MAX_BUCKETS).map((b, i) => (typeof b === 'number' && Number.isFinite(b) ? b : fail(`${where}.bounds[${i}]`, b)));
    if (bounds.length === 0) throw new AdapterParamError(`${where}.bounds`, `${where}.bounds must hold at least one bound`);
    bounds.forEach((b, i) => {
      if (i > 0 && b <= bounds[i - 1]) throw new AdapterParamError(`${where}.bounds[${i}]`, `${where}.bounds must increase: ${b} follows ${bounds[i - 1]}`);
    });
    return bounds;
  }
  if (kind === 'linearBuckets') {
    const linear = readObject(rawField(buckets, kind), where, ['numFiniteBuckets', 'width', 'offset']);
    const n = readNumber(linear, 'numFiniteBuckets', where, 0, { min: 1, max: MAX_BUCKETS, integer: true });
    const width = readNumber(linear, 'width', where, 0);
    if (width <= 0) throw new AdapterParamError(`${where}.width`, `${where}.width must be greater than 0`);
    const offset = readNumber(linear, 'offset', where, 0);
    return Array.from({ length: n + 1 }, (_, i) => offset + i * width);
  }
  const exp = readObject(rawField(buckets, kind), where, ['numFiniteBuckets', 'growthFactor', 'scale']);
  const n = readNumber(exp, 'numFiniteBuckets', where, 0, { min: 1, max: MAX_BUCKETS, integer: true });
  const growth = readNumber(exp, 'growthFactor', where, 0);
  if (growth <= 1) throw new AdapterParamError(`${where}.growthFactor`, `${where}.growthFactor must be greater than 1`);
  const scale = readNumber(exp, 'scale', where, 0);
  if (scale <= 0) throw new AdapterParamError(`${where}.scale`, `${where}.scale must be greater than 0`);
  return Array.from({ length: n + 1 }, (_, i) => scale * growth ** i);
}

function fail(path: string, value: unknown): never {
  throw new AdapterParamError(path, `${path} must be a number, not ${JSON.stringify(value)}`);
}

export function parsePrometheusParams(raw: unknown): PrometheusParams {
  const p = readObject(raw, '', ['metrics', 'metricsExpirationPolicy', 'maxSeries']);
  const names = new Set<string>();
  const metrics = readList(p, 'metrics', '', 1000).map((item, i): PrometheusMetric => {
    const path = `metrics[${i}]`;
    const m = readObject(item, path, ['namespace', 'name', 'instanceName', 'description', 'kind', 'buckets', 'labelNames']);
    const instanceName = readString(m, 'instanceName', path, '');
    if (instanceName === '') throw new AdapterParamError(`${path}.instance_name`, `${path}.instance_name is required (the metric instance's full name, e.g. requestcount.metric.istio-system)`);
    const namespace = sanitizeMetricName(readString(m, 'namespace', path, 'istio'));
    const shortName = readString(m, 'name', path, '') || sanitizeMetricName(instanceName);
    const name = namespace === '' ? shortName : `${namespace}_${shortName}`;
    if (!METRIC_NAME.test(name)) throw new AdapterParamError(`${path}.name`, `${path}.name "${shortName}" is not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
    if (names.has(name)) throw new AdapterParamError(`${path}.name`, `${path}: metric name "${name}" is used twice (Prometheus names must be unique)`);
    names.add(name);
    const rawKind = readString(m, 'kind', path, '');
    if (rawKind === '' || rawKind === 'UNSPECIFIED') throw new AdapterParamError(`${path}.kind`, `${path}.kind is required: COUNTER, GAUGE or DISTRIBUTION`);
    const kind = readEnum(m, 'kind', path, ['COUNTER', 'GAUGE', 'DISTRIBUTION'] as const, 'COUNTER');
    const labelNames = readStringList(m, 'labelNames', path, 64);
    labelNames.forEach((label, j) => {
      const where = `${path}.label_names[${j}]`;
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new AdapterParamError(where, `${where} "${label}" is not a Prometheus label name`);
      if (kind === 'DISTRIBUTION' && label === 'le') throw new AdapterParamError(where, `${where}: "le" is reserved for histogram buckets`);
      if (labelNames.indexOf(label) !== j) throw new AdapterParamError(where, `${where} "${label}" is given twice`);
    });
    let bounds: number[] = [];
    if (kind === 'DISTRIBUTION') {
      const buckets = rawField(m, 'buckets');
      if (buckets === undefined) throw new AdapterParamError(`${path}.buckets`, `${path}.buckets is required for a DISTRIBUTION`);
      bounds = readBounds(readObject(buckets, `${path}.buckets`, ['explicitBuckets', 'linearBuckets', 'exponentialBuckets']), `${path}.buckets`);
    }
    return { name, instanceName, description: readString(m, 'description', path, ''), kind, labelNames, bounds };
  });
  const policy = readObject(rawField(p, 'metricsExpirationPolicy'), 'metricsExpirationPolicy', ['metricsExpiryDuration', 'expiryCheckIntervalDuration']);
  return {
    metrics,
    metricsExpiryMs: readDurationMs(policy, 'metricsExpiryDuration', 'metricsExpirationPolicy', 0),
    maxSeries: readNumber(p, 'maxSeries', '', 10_000, { min: 1, max: 1_000_000, integer: true }),
  };
}
