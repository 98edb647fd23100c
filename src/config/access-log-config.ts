// http_connection_manager.access_log: loggers (file, stdout, stderr), each with
// an optional log_format (a SubstitutionFormatString: text_format_source,
// text_format or json_format) and an optional filter. Read into frozen data
// here; each worker compiles it (workers/access-log-set.ts). Runtime-dependent
// parts (runtime_filter) are refused by name: Isthmus has no runtime.

import type { HeaderMatcher } from './bootstrap-types.js';
import { parseFormatString, ENVOY_DEFAULT_FORMAT, type FormatPart } from './access-log-format.js';
import { readHeaderMatcher } from './string-match.js';
import { readTypedConfigOf } from './typed-config.js';
import type { ObjectReader, ValueReader } from './yaml-reader.js';

export const FILE_ACCESS_LOG_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
export const STDOUT_ACCESS_LOG_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog';
export const STDERR_ACCESS_LOG_TYPE_URL = 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog';
const LOGGER_TYPES = [FILE_ACCESS_LOG_TYPE_URL, STDOUT_ACCESS_LOG_TYPE_URL, STDERR_ACCESS_LOG_TYPE_URL];

/** A json_format value: a format string, a literal (number or boolean, as JSON text) or a nested object. */
export type JsonFormatValue =
  | { readonly kind: 'format'; readonly parts: readonly FormatPart[] }
  | { readonly kind: 'literal'; readonly json: string }
  | { readonly kind: 'object'; readonly fields: readonly JsonFormatField[] };

export interface JsonFormatField {
  readonly key: string;
  readonly value: JsonFormatValue;
}

export interface AccessLogFormat {
  /** text: `text` parts make the whole line; json: `json` fields make one object per line. */
  readonly kind: 'text' | 'json';
  readonly text: readonly FormatPart[];
  readonly json: readonly JsonFormatField[];
  /** omit_empty_values: text writes '' instead of '-'; json leaves the key out instead of null. */
  readonly omitEmptyValues: boolean;
  /** content_type: accepted (it matters for local replies, not for log lines). */
  readonly contentType: string;
}

export type ComparisonOp = 'EQ' | 'GE' | 'LE';

export type AccessLogFilter =
  | { readonly kind: 'status_code'; readonly op: ComparisonOp; readonly value: number }
  | { readonly kind: 'duration'; readonly op: ComparisonOp; readonly value: number }
  | { readonly kind: 'not_health_check' }
  | { readonly kind: 'traceable' }
  | { readonly kind: 'response_flag'; readonly flags: readonly string[] }
  | { readonly kind: 'header'; readonly header: HeaderMatcher }
  | { readonly kind: 'and' | 'or'; readonly filters: readonly AccessLogFilter[] };

export interface AccessLogConfig {
  /** Where lines go: a file path (`/dev/stdout` and `/dev/stderr` mean the process's own), stdout or stderr. */
  readonly sink: 'file' | 'stdout' | 'stderr';
  readonly path: string;
  readonly format: AccessLogFormat;
  readonly filter: AccessLogFilter | null;
}

/** Envoy's response flag names (response_flag_filter accepts each; Isthmus sets the ones it has causes for). */
export const ENVOY_RESPONSE_FLAGS = [
  'LH', 'UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'RL', 'UAEX', 'RLSE', 'DC', 'URX', 'SI', 'IH', 'DPE',
  'UMSDR', 'RFCF', 'NFCF', 'DT', 'UPE', 'NC', 'OM', 'DF', 'DO', 'DR',
];

const MAX_JSON_DEPTH = 8;

/** HttpConnectionManager.access_log; undefined after reporting a problem. */
export function readAccessLogs(v: ValueReader): AccessLogConfig[] | undefined {
  return v.listOf(readAccessLog);
}

function readAccessLog(v: ValueReader): AccessLogConfig | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  obj.field('name').string(); // informative: the typed_config's @type chooses the logger, as in Envoy
  const filterField = obj.field('filter');
  const filter = filterField.missing ? null : readFilter(filterField, 0);
  const typedField = obj.field('typed_config');
  typedField.require();
  const typed = readTypedConfigOf(typedField, LOGGER_TYPES);
  obj.done();
  if (typed === undefined || filter === undefined) return undefined;
  const t = typed.obj;
  let sink: AccessLogConfig['sink'] = typed.type === STDOUT_ACCESS_LOG_TYPE_URL ? 'stdout' : 'stderr';
  let path = '';
  if (typed.type === FILE_ACCESS_LOG_TYPE_URL) {
    const pathField = t.field('path');
    pathField.require();
    const p = pathField.nonEmptyString();
    if (p === undefined) return undefined;
    path = p;
    sink = p === '/dev/stdout' ? 'stdout' : p === '/dev/stderr' ? 'stderr' : 'file';
    for (const old of ['format', 'json_format', 'typed_json_format']) {
      if (t.has(old)) t.field(old).problem('is the deprecated v2 form; use log_format (text_format_source or json_format)');
    }
  }
  const formatField = t.field('log_format');
  const format = formatField.missing ? defaultFormat() : readLogFormat(formatField);
  t.done();
  if (format === undefined) return undefined;
  return Object.freeze({ sink, path, format, filter });
}

function defaultFormat(): AccessLogFormat {
  return { kind: 'text', text: parseFormatString(ENVOY_DEFAULT_FORMAT) as FormatPart[], json: [], omitEmptyValues: false, contentType: '' };
}

/** config.core.v3.SubstitutionFormatString. */
export function readLogFormat(v: ValueReader): AccessLogFormat | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(['text_format_source', 'text_format', 'json_format'], true);
  const omitEmptyValues = obj.field('omit_empty_values').bool() ?? false;
  const contentType = obj.field('content_type').string() ?? '';
  const jsonOptions = obj.field('json_format_options').object();
  jsonOptions?.field('sort_properties').bool();
  jsonOptions?.done();
  let text: FormatPart[] = [];
  let json: JsonFormatField[] = [];
  let ok = which !== null && which !== undefined;
  if (which === 'text_format') {
    const f = obj.field('text_format');
    const parsed = formatParts(f, f.string());
    if (parsed === undefined) ok = false;
    else text = parsed;
  } else if (which === 'text_format_source') {
    const source = obj.field('text_format_source').object();
    if (source === undefined) {
      ok = false;
    } else {
      const kind = source.oneOf(['inline_string', 'filename', 'inline_bytes', 'environment_variable'], true);
      if (kind === 'inline_string') {
        const f = source.field('inline_string');
        const parsed = formatParts(f, f.string());
        if (parsed === undefined) ok = false;
        else text = parsed;
      } else if (kind !== null && kind !== undefined) {
        source.field(kind).problem('is not supported here; write the format as inline_string');
        ok = false;
      }
      source.done();
    }
  } else if (which === 'json_format') {
    const parsed = readJsonFields(obj.field('json_format'), 0);
    if (parsed === undefined) ok = false;
    else json = parsed;
  }
  obj.done();
  if (!ok) return undefined;
  // Sorted keys (json_format_options.sort_properties) are kept in the written order: both are valid JSON objects.
  return Object.freeze({ kind: which === 'json_format' ? 'json' : 'text', text, json, omitEmptyValues, contentType });
}

function formatParts(v: ValueReader, text: string | undefined): FormatPart[] | undefined {
  if (text === undefined) return undefined;
  const parsed = parseFormatString(text);
  if (typeof parsed === 'string') {
    v.problem(parsed);
    return undefined;
  }
  return parsed;
}

function readJsonFields(v: ValueReader, depth: number): JsonFormatField[] | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  if (depth > MAX_JSON_DEPTH) {
    v.problem(`nests more than ${MAX_JSON_DEPTH} objects deep`);
    return undefined;
  }
  const out: JsonFormatField[] = [];
  let ok = true;
  for (const key of obj.keys()) {
    const field = obj.field(key);
    const value = readJsonValue(field, depth);
    if (value === undefined) ok = false;
    else out.push({ key, value });
  }
  obj.done();
  return ok ? out : undefined;
}

function readJsonValue(v: ValueReader, depth: number): JsonFormatValue | undefined {
  if (v.missing) {
    v.problem('must be a format string, a number, a boolean or an object (null is not allowed)');
    return undefined;
  }
  if (v.isMap()) {
    const fields = readJsonFields(v, depth + 1);
    return fields === undefined ? undefined : { kind: 'object', fields };
  }
  const node = v.node as { value?: unknown } | null;
  const raw = node !== null && typeof node === 'object' && 'value' in node ? node.value : undefined;
  if (typeof raw === 'number' && Number.isFinite(raw)) return { kind: 'literal', json: String(raw) };
  if (typeof raw === 'boolean') return { kind: 'literal', json: String(raw) };
  if (typeof raw === 'string') {
    const parts = formatParts(v, raw);
    return parts === undefined ? undefined : { kind: 'format', parts };
  }
  v.problem('must be a format string, a number, a boolean or an object (lists are not supported, as in Envoy)');
  return undefined;
}

function readComparison(obj: ObjectReader): { op: ComparisonOp; value: number } | undefined {
  const cmpField = obj.field('comparison');
  cmpField.require();
  const cmp = cmpField.object();
  if (cmp === undefined) return undefined;
  const op = cmp.field('op').enumOf(['EQ', 'GE', 'LE'] as const) ?? (cmp.has('op') ? undefined : 'EQ');
  const valueField = cmp.field('value');
  valueField.require();
  const value = valueField.object();
  let n: number | undefined;
  if (value !== undefined) {
    const dv = value.field('default_value');
    dv.require();
    n = dv.integer(0, 4_294_967_295);
    // runtime_key names a runtime override: Isthmus has no runtime, so default_value always applies.
    value.field('runtime_key').string();
    value.done();
  }
  cmp.done();
  return op === undefined || n === undefined ? undefined : { op, value: n };
}

/** config.accesslog.v3.AccessLogFilter (one of its filter kinds). */
function readFilter(v: ValueReader, depth: number): AccessLogFilter | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  if (depth > MAX_JSON_DEPTH) {
    v.problem(`nests more than ${MAX_JSON_DEPTH} filters deep`);
    return undefined;
  }
  const kinds = [
    'status_code_filter', 'duration_filter', 'not_health_check_filter', 'traceable_filter', 'response_flag_filter',
    'header_filter', 'and_filter', 'or_filter', 'runtime_filter', 'grpc_status_filter', 'extension_filter',
    'metadata_filter', 'log_type_filter',
  ] as const;
  const kind = obj.oneOf(kinds, true);
  let out: AccessLogFilter | undefined;
  if (kind === 'status_code_filter' || kind === 'duration_filter') {
    const inner = obj.field(kind).object();
    const cmp = inner === undefined ? undefined : readComparison(inner);
    inner?.done();
    if (cmp !== undefined) out = { kind: kind === 'status_code_filter' ? 'status_code' : 'duration', ...cmp };
  } else if (kind === 'not_health_check_filter' || kind === 'traceable_filter') {
    obj.field(kind).object()?.done();
    out = { kind: kind === 'traceable_filter' ? 'traceable' : 'not_health_check' };
  } else if (kind === 'response_flag_filter') {
    const inner = obj.field(kind).object();
    if (inner !== undefined) {
      const flags: string[] = [];
      let ok = true;
      for (const item of inner.field('flags').list()) {
        const flag = item.string();
        if (flag === undefined) ok = false;
        else if (!ENVOY_RESPONSE_FLAGS.includes(flag)) {
          item.problem(`names "${flag}", not a response flag; Envoy's flags are ${ENVOY_RESPONSE_FLAGS.join(', ')}`);
          ok = false;
        } else flags.push(flag);
      }
      inner.done();
      if (ok) out = { kind: 'response_flag', flags };
    }
  } else if (kind === 'header_filter') {
    const inner = obj.field(kind).object();
    if (inner !== undefined) {
      const headerField = inner.field('header');
      headerField.require();
      const header = headerField.missing ? undefined : readHeaderMatcher(headerField);
      inner.done();
      if (header !== undefined) out = { kind: 'header', header };
    }
  } else if (kind === 'and_filter' || kind === 'or_filter') {
    const inner = obj.field(kind).object();
    if (inner !== undefined) {
      const listField = inner.field('filters');
      const items = listField.list();
      const filters = items.map((item) => readFilter(item, depth + 1));
      if (items.length < 2) listField.problem('must list at least 2 filters');
      inner.done();
      if (items.length >= 2 && filters.every((f) => f !== undefined)) {
        out = { kind: kind === 'and_filter' ? 'and' : 'or', filters: filters as AccessLogFilter[] };
      }
    }
  } else if (kind === 'runtime_filter') {
    obj.field(kind).problem('is not supported: Isthmus has no runtime to sample by; use status_code_filter, duration_filter or response_flag_filter');
  } else if (kind !== null && kind !== undefined) {
    obj.field(kind).problem(`is not supported; the supported filters are ${kinds.slice(0, 8).join(', ')}`);
  }
  obj.done();
  return out;
}
