// isthmus.filters.http.mixer: the sidecar's policy filter (Istio's mixer
// client, HttpClientConfig in src/xds/protos/isthmus/mixer/v1/client_config.proto),
// read from a YAML/JSON bootstrap or an xDS Any (the same proto3 JSON shape)
// into a frozen config. mixer_attributes keep both their value (what the
// attribute bag answers) and their wire form (what a Check sends), so the
// worker never has to guess a number's type.
import type { AttributeValue, StringMap } from '../policy/attribute-value.js';
import { readTypedConfig } from './typed-config.js';
import { UINT32_MAX, type ValueReader } from './yaml-reader.js';

export { MIXER_FILTER_NAME } from './http-filter-names.js';
export const MIXER_TYPE_URL = 'type.googleapis.com/isthmus.mixer.v1.config.client.HttpClientConfig';

/** isthmus.mixer.v1.AttributeValue in proto-loader's input shape (one field set). */
export type WireAttributeValue =
  | { readonly string_value: string }
  | { readonly int64_value: number }
  | { readonly double_value: number }
  | { readonly bool_value: boolean }
  | { readonly bytes_value: Uint8Array }
  | { readonly timestamp_value: { readonly seconds: number; readonly nanos: number } }
  | { readonly duration_value: { readonly seconds: number; readonly nanos: number } }
  | { readonly string_map_value: { readonly entries: StringMap } };

export interface StaticAttribute {
  readonly name: string;
  readonly value: AttributeValue;
  readonly wire: WireAttributeValue;
}

export type FailPolicy = 'FAIL_OPEN' | 'FAIL_CLOSE';

export interface MixerFilterConfig {
  /** transport.check_cluster: '' = the control plane the proxy gets xDS from. */
  readonly checkCluster: string;
  readonly reportCluster: string;
  readonly failPolicy: FailPolicy;
  readonly maxRetry: number;
  readonly baseRetryWaitMs: number;
  readonly maxRetryWaitMs: number;
  readonly checkTimeoutMs: number;
  readonly mixerAttributes: readonly StaticAttribute[];
  readonly checkAttributes: readonly string[];
  readonly reportAttributes: readonly string[];
  readonly disableCheckCalls: boolean;
  readonly disableReportCalls: boolean;
  readonly quotas: readonly { readonly quota: string; readonly charge: number }[];
  readonly reportBatchMaxEntries: number;
  readonly reportBatchMaxTimeMs: number;
  readonly checkCacheMaxEntries: number;
}

export const MIXER_DEFAULTS = Object.freeze({
  checkTimeoutMs: 500,
  baseRetryWaitMs: 80,
  maxRetryWaitMs: 1000,
  reportBatchMaxEntries: 100,
  reportBatchMaxTimeMs: 1000,
  checkCacheMaxEntries: 10_000,
});
/** Bounds that keep a hostile config from making the proxy hold without limit. */
const MAX_RETRIES = 10;
const MAX_ATTRIBUTE_NAMES = 256;
const MAX_REPORT_BATCH = 10_000;
const MAX_CACHE_ENTRIES = 1_000_000;
const ATTRIBUTE_NAME = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$/;
const INT64_SAFE = Number.MAX_SAFE_INTEGER;

/** A HttpClientConfig typed_config; undefined after reporting each problem (with its field path). */
export function readMixerFilterConfig(v: ValueReader): MixerFilterConfig | undefined {
  const obj = readTypedConfig(v, MIXER_TYPE_URL);
  if (obj === undefined) return undefined;
  let ok = true;
  const transport = readTransport(obj.field('transport'));
  if (transport === undefined) ok = false;
  const mixerAttributes = readAttributes(obj.field('mixer_attributes'));
  if (mixerAttributes === undefined) ok = false;
  const checkAttributes = readNames(obj.field('check_attributes'));
  const reportAttributes = readNames(obj.field('report_attributes'));
  if (checkAttributes === undefined || reportAttributes === undefined) ok = false;
  const disableCheckCalls = obj.field('disable_check_calls').bool() ?? false;
  const disableReportCalls = obj.field('disable_report_calls').bool() ?? false;
  const quotas = obj.field('quotas').listOf((item) => {
    const q = item.object();
    if (q === undefined) return undefined;
    const nameField = q.field('quota');
    nameField.require();
    const quota = nameField.nonEmptyString();
    const chargeField = q.field('charge');
    const charge = chargeField.missing ? 1 : chargeField.integer(1, INT64_SAFE);
    q.done();
    return quota === undefined || charge === undefined ? undefined : Object.freeze({ quota, charge });
  });
  if (quotas === undefined) ok = false;
  const entriesField = obj.field('report_batch_max_entries');
  const reportBatchMaxEntries = entriesField.missing ? MIXER_DEFAULTS.reportBatchMaxEntries : entriesField.integer(0, MAX_REPORT_BATCH);
  const timeField = obj.field('report_batch_max_time');
  const reportBatchMaxTimeMs = timeField.missing ? MIXER_DEFAULTS.reportBatchMaxTimeMs : timeField.duration();
  const cacheField = obj.field('check_cache_max_entries');
  const checkCacheMaxEntries = cacheField.missing ? MIXER_DEFAULTS.checkCacheMaxEntries : cacheField.integer(0, MAX_CACHE_ENTRIES);
  obj.done();
  if (!ok || transport === undefined || mixerAttributes === undefined || checkAttributes === undefined || reportAttributes === undefined
    || quotas === undefined || reportBatchMaxEntries === undefined || reportBatchMaxTimeMs === undefined || checkCacheMaxEntries === undefined) return undefined;
  return Object.freeze({
    ...transport,
    mixerAttributes,
    checkAttributes,
    reportAttributes,
    disableCheckCalls,
    disableReportCalls,
    quotas: Object.freeze(quotas),
    // 0 (proto3's unset) means the default, as Istio's client reads it.
    reportBatchMaxEntries: reportBatchMaxEntries === 0 ? MIXER_DEFAULTS.reportBatchMaxEntries : reportBatchMaxEntries,
    reportBatchMaxTimeMs: reportBatchMaxTimeMs === 0 ? MIXER_DEFAULTS.reportBatchMaxTimeMs : reportBatchMaxTimeMs,
    checkCacheMaxEntries: checkCacheMaxEntries === 0 ? MIXER_DEFAULTS.checkCacheMaxEntries : checkCacheMaxEntries,
  });
}

type Transport = Pick<MixerFilterConfig, 'checkCluster' | 'reportCluster' | 'failPolicy' | 'maxRetry' | 'baseRetryWaitMs' | 'maxRetryWaitMs' | 'checkTimeoutMs'>;

function readTransport(v: ValueReader): Transport | undefined {
  const defaults: Transport = {
    checkCluster: '', reportCluster: '', failPolicy: 'FAIL_OPEN', maxRetry: 0,
    baseRetryWaitMs: MIXER_DEFAULTS.baseRetryWaitMs, maxRetryWaitMs: MIXER_DEFAULTS.maxRetryWaitMs, checkTimeoutMs: MIXER_DEFAULTS.checkTimeoutMs,
  };
  if (v.missing) return defaults;
  const obj = v.object();
  if (obj === undefined) return undefined;
  const checkCluster = obj.field('check_cluster').string() ?? '';
  const reportCluster = obj.field('report_cluster').string() ?? '';
  const timeoutField = obj.field('check_timeout');
  const checkTimeoutMs = timeoutField.missing ? defaults.checkTimeoutMs : timeoutField.duration();
  if (checkTimeoutMs === 0) timeoutField.problem('must be longer than 0s');
  let policy: Omit<Transport, 'checkCluster' | 'reportCluster' | 'checkTimeoutMs'> | undefined = defaults;
  const policyField = obj.field('network_fail_policy');
  if (!policyField.missing) {
    const p = policyField.object();
    if (p === undefined) policy = undefined;
    else {
      const policyName = p.field('policy');
      const failPolicy = policyName.missing ? 'FAIL_OPEN' : policyName.enumOf(['FAIL_OPEN', 'FAIL_CLOSE'] as const);
      const maxRetry = p.field('max_retry').integer(0, MAX_RETRIES) ?? (p.has('max_retry') ? undefined : 0);
      const baseField = p.field('base_retry_wait');
      const base = baseField.missing ? defaults.baseRetryWaitMs : baseField.duration();
      const maxField = p.field('max_retry_wait');
      const max = maxField.missing ? defaults.maxRetryWaitMs : maxField.duration();
      p.done();
      if (base !== undefined && max !== undefined && base > max) baseField.problem('must not be longer than max_retry_wait');
      policy = failPolicy === undefined || maxRetry === undefined || base === undefined || max === undefined || base > max
        ? undefined : { failPolicy, maxRetry, baseRetryWaitMs: base, maxRetryWaitMs: max };
    }
  }
  obj.done();
  if (checkTimeoutMs === undefined || checkTimeoutMs === 0 || policy === undefined) return undefined;
  return { failPolicy: policy.failPolicy, maxRetry: policy.maxRetry, baseRetryWaitMs: policy.baseRetryWaitMs, maxRetryWaitMs: policy.maxRetryWaitMs, checkCluster, reportCluster, checkTimeoutMs };
}

function readNames(v: ValueReader): readonly string[] | undefined {
  const names = v.listOf((item) => {
    const name = item.nonEmptyString();
    if (name !== undefined && !ATTRIBUTE_NAME.test(name)) {
      item.problem(`"${name}" is not an attribute name (dot-separated lowercase words, e.g. request.headers)`);
      return undefined;
    }
    return name;
  });
  if (names !== undefined && names.length > MAX_ATTRIBUTE_NAMES) {
    v.problem(`lists ${names.length} attributes; at most ${MAX_ATTRIBUTE_NAMES}`);
    return undefined;
  }
  return names === undefined ? undefined : Object.freeze([...new Set(names)]);
}

/** isthmus.mixer.v1.Attributes: `{ attributes: { name: { string_value: ... } } }`. */
function readAttributes(v: ValueReader): readonly StaticAttribute[] | undefined {
  if (v.missing) return Object.freeze([]);
  const obj = v.object();
  if (obj === undefined) return undefined;
  const mapField = obj.field('attributes');
  obj.done();
  if (mapField.missing) return Object.freeze([]);
  const map = mapField.object();
  if (map === undefined) return undefined;
  const out: StaticAttribute[] = [];
  let ok = true;
  for (const name of map.keys()) {
    const field = map.field(name);
    if (!ATTRIBUTE_NAME.test(name)) {
      field.problem(`"${name}" is not an attribute name (dot-separated lowercase words, e.g. destination.service.host)`);
      ok = false;
      continue;
    }
    const value = readAttributeValue(field);
    if (value === undefined) ok = false;
    else out.push(Object.freeze({ name, ...value }));
  }
  map.done();
  return ok ? Object.freeze(out) : undefined;
}

const VALUE_FIELDS = ['string_value', 'int64_value', 'double_value', 'bool_value', 'bytes_value', 'timestamp_value', 'duration_value', 'string_map_value'] as const;

function readAttributeValue(v: ValueReader): { value: AttributeValue; wire: WireAttributeValue } | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const present = VALUE_FIELDS.filter((f) => obj.has(f));
  if (present.length !== 1) {
    // Read them so done() does not call them unknown as well.
    for (const f of VALUE_FIELDS) obj.field(f);
    obj.done();
    v.problem(present.length === 0 ? `needs one of ${VALUE_FIELDS.join(', ')}` : `sets ${present.join(' and ')}; an attribute value has exactly one`);
    return undefined;
  }
  const kind = present[0]!;
  const f = obj.field(kind);
  let result: { value: AttributeValue; wire: WireAttributeValue } | undefined;
  switch (kind) {
    case 'string_value': {
      const s = f.string();
      result = s === undefined ? undefined : { value: s, wire: { string_value: s } };
      break;
    }
    case 'int64_value': {
      const n = f.integer(-INT64_SAFE, INT64_SAFE);
      result = n === undefined ? undefined : { value: n, wire: { int64_value: n } };
      break;
    }
    case 'double_value': {
      const n = f.number(-Number.MAX_VALUE, Number.MAX_VALUE);
      result = n === undefined ? undefined : { value: n, wire: { double_value: n } };
      break;
    }
    case 'bool_value': {
      const b = f.bool();
      result = b === undefined ? undefined : { value: b, wire: { bool_value: b } };
      break;
    }
    case 'bytes_value': {
      const s = f.string();
      if (s !== undefined && !/^[A-Za-z0-9+/_-]*={0,2}$/.test(s)) f.problem('must be base64');
      const bytes = s === undefined || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(s) ? undefined : new Uint8Array(Buffer.from(s, 'base64'));
      result = bytes === undefined ? undefined : { value: bytes, wire: { bytes_value: bytes } };
      break;
    }
    case 'duration_value': {
      const ms = f.duration();
      result = ms === undefined ? undefined : { value: ms, wire: { duration_value: partsOf(ms) } };
      break;
    }
    case 'timestamp_value': {
      const ms = readTimestamp(f);
      result = ms === undefined ? undefined : { value: ms, wire: { timestamp_value: partsOf(ms) } };
      break;
    }
    case 'string_map_value': {
      const entries = readStringMap(f);
      result = entries === undefined ? undefined : { value: entries, wire: { string_map_value: { entries } } };
      break;
    }
  }
  obj.done();
  return result;
}

/** RFC 3339 text (proto3 JSON) or `{ seconds, nanos }` (a decoded xDS Any); milliseconds since the epoch. */
function readTimestamp(v: ValueReader): number | undefined {
  if (v.isMap()) {
    const obj = v.object()!;
    const seconds = obj.field('seconds').integer(-62_135_596_800, 253_402_300_799) ?? 0;
    const nanos = obj.field('nanos').integer(0, 999_999_999) ?? 0;
    obj.done();
    return seconds * 1000 + Math.floor(nanos / 1e6);
  }
  const s = v.string();
  if (s === undefined) return undefined;
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) ? Date.parse(s) : NaN;
  if (!Number.isFinite(ms)) {
    v.problem('must be an RFC 3339 timestamp like "2026-12-06T10:00:00Z"');
    return undefined;
  }
  return ms;
}

function readStringMap(v: ValueReader): StringMap | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const entriesField = obj.field('entries');
  obj.done();
  const out = Object.create(null) as Record<string, string>;
  if (entriesField.missing) return Object.freeze(out);
  const map = entriesField.object();
  if (map === undefined) return undefined;
  let ok = true;
  for (const key of map.keys()) {
    const s = map.field(key).string();
    if (s === undefined) ok = false;
    else out[key] = s;
  }
  map.done();
  return ok ? Object.freeze(out) : undefined;
}

function partsOf(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
