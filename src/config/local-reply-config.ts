// The HTTP connection manager's local_reply_config: mappers (an access-log
// style filter, then status_code, body, body_format_override, headers_to_add)
// and body_format (text_format, text_format_source.inline_string or
// json_format) over the command operators local replies support.

import type { LocalReplyConfig, LocalReplyFilter, LocalReplyFormat, LocalReplyMapper } from './bootstrap-types.js';
import { checkFieldValue } from './head-text.js';
import { readHeaderMatcher, readHeaderName } from './string-match.js';
import type { ObjectReader, ValueReader } from './yaml-reader.js';
import { parseFormatString } from './local-reply-format.js';

export { LOCAL_REPLY_OPERATORS, parseFormatString, type FormatPiece } from './local-reply-format.js';

/** Mappers are tried in order for every local reply: a bound keeps a config from making that slow. */
const MAX_MAPPERS = 64;
const MAX_FILTER_DEPTH = 8;

/** Checks every string in a json_format value (nested objects too). */
function checkJsonFormat(v: ValueReader, value: unknown, depth: number): boolean {
  if (typeof value === 'string') {
    const parsed = parseFormatString(value);
    if (typeof parsed === 'string') {
      v.problem(parsed);
      return false;
    }
    return true;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    if (depth > MAX_FILTER_DEPTH) {
      v.problem('is nested too deeply');
      return false;
    }
    return Object.values(value).every((inner) => checkJsonFormat(v, inner, depth + 1));
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return true;
  v.problem('json_format values must be strings, numbers, booleans or objects (no lists)');
  return false;
}

/** config.core.v3.SubstitutionFormatString */
function readFormat(v: ValueReader): LocalReplyFormat | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const textField = obj.field('text_format');
  const sourceField = obj.field('text_format_source');
  const jsonField = obj.field('json_format');
  const given = [textField, sourceField, jsonField].filter((f) => !f.missing).length;
  let text: string | null = null;
  let json: Record<string, unknown> | null = null;
  let ok = true;
  if (given !== 1) {
    obj.field('text_format').problem('or text_format_source or json_format: exactly one must be set');
    ok = false;
  } else if (!textField.missing || !sourceField.missing) {
    let raw: string | undefined;
    if (!textField.missing) raw = textField.string();
    else {
      const source = sourceField.object();
      const inline = source?.field('inline_string');
      inline?.require();
      raw = inline?.string();
      source?.done();
    }
    const at = textField.missing ? sourceField : textField;
    const parsed = raw === undefined ? undefined : parseFormatString(raw);
    if (typeof parsed === 'string') at.problem(parsed);
    if (raw === undefined || typeof parsed === 'string') ok = false;
    else text = raw;
  } else {
    const value = jsonField.plain();
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      jsonField.problem('must be a map of field names to format strings');
      ok = false;
    } else if (checkJsonFormat(jsonField, value, 0)) json = value as Record<string, unknown>;
    else ok = false;
  }
  const typeField = obj.field('content_type');
  const contentType = typeField.string();
  if (contentType !== undefined && !checkFieldValue(typeField, contentType, false)) ok = false;
  // Accepted as Envoy has them: formatters (extensions) are not, and omit_empty_values only affects json output of ''.
  obj.field('omit_empty_values').bool();
  obj.done();
  if (!ok) return undefined;
  return { text, json, contentType: contentType ?? (json !== null ? 'application/json' : 'text/plain') };
}

/** config.accesslog.v3.AccessLogFilter, the kinds a local reply mapper can test. */
function readFilter(v: ValueReader, depth: number): LocalReplyFilter | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const kinds = obj.keys();
  if (kinds.length !== 1) {
    v.problem('must set exactly one filter (status_code_filter, header_filter, response_flag_filter, and_filter, or_filter, not_health_check_filter)');
    for (const k of kinds) obj.field(k);
    obj.done();
    return undefined;
  }
  const kind = kinds[0]!;
  const f = obj.field(kind);
  let out: LocalReplyFilter | undefined;
  switch (kind) {
    case 'status_code_filter': {
      const inner = f.object();
      const cmp = inner?.field('comparison');
      cmp?.require();
      const c = cmp?.object();
      const op = c?.field('op');
      const opValue = op?.missing ? 'EQ' : op?.enumOf(['EQ', 'GE', 'LE'] as const);
      const valueField = c?.field('value');
      valueField?.require();
      const rv = valueField?.object();
      const dv = rv?.field('default_value');
      dv?.require();
      const value = dv?.integer(0, 999);
      rv?.field('runtime_key').string();
      rv?.done();
      c?.done();
      inner?.done();
      if (opValue !== undefined && value !== undefined) out = { kind: 'status', op: opValue, value };
      break;
    }
    case 'header_filter': {
      // config.route.v3.HeaderMatcher, as route matching reads it (exact_match, string_match, present_match, invert_match...).
      const inner = f.object();
      const headerField = inner?.field('header');
      headerField?.require();
      const matcher = headerField === undefined || headerField.missing ? undefined : readHeaderMatcher(headerField);
      inner?.done();
      if (matcher !== undefined) out = { kind: 'header', matcher };
      break;
    }
    case 'response_flag_filter': {
      const inner = f.object();
      const flags = (inner?.field('flags').list() ?? []).map((item) => item.nonEmptyString());
      inner?.done();
      if (!flags.includes(undefined)) out = { kind: 'flag', flags: flags as string[] };
      break;
    }
    case 'and_filter':
    case 'or_filter': {
      const inner = f.object();
      const items = inner?.field('filters').list() ?? [];
      if (depth >= MAX_FILTER_DEPTH) f.problem(`nests filters deeper than ${MAX_FILTER_DEPTH}`);
      const filters = depth >= MAX_FILTER_DEPTH ? [undefined] : items.map((item) => readFilter(item, depth + 1));
      inner?.done();
      if (!filters.includes(undefined)) out = { kind: kind === 'and_filter' ? 'and' : 'or', filters: filters as LocalReplyFilter[] };
      break;
    }
    case 'not_health_check_filter':
      f.object()?.done();
      out = { kind: 'not_health_check' };
      break;
    default:
      f.problem('is not supported in a local reply mapper (status_code_filter, header_filter, response_flag_filter, and_filter, or_filter, not_health_check_filter)');
  }
  obj.done();
  return out;
}

function readHeadersToAdd(v: ValueReader): LocalReplyMapper['headersToAdd'] | undefined {
  const out: { key: string; value: string; append: boolean }[] = [];
  let ok = true;
  for (const item of v.list()) {
    const obj = item.object();
    const header = obj?.field('header');
    header?.require();
    const h = header?.object();
    const keyField = h?.field('key');
    keyField?.require();
    const key = keyField === undefined ? undefined : readHeaderName(keyField, false);
    const valueField = h?.field('value');
    const value = valueField?.string() ?? '';
    if (valueField !== undefined && !checkFieldValue(valueField, value, false)) ok = false;
    h?.done();
    const append = obj?.field('append').bool();
    const action = obj?.field('append_action').enumOf(['APPEND_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT'] as const);
    obj?.done();
    if (key === undefined) ok = false;
    else out.push({ key, value, append: append ?? action === 'APPEND_IF_EXISTS_OR_ADD' });
  }
  return ok ? out : undefined;
}

function readMapper(v: ValueReader): LocalReplyMapper | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const filterField = obj.field('filter');
  filterField.require();
  const filter = filterField.missing ? undefined : readFilter(filterField, 0);
  const statusField = obj.field('status_code');
  // google.protobuf.UInt32Value: a plain number in YAML / proto JSON.
  const statusCode = statusField.missing ? null : statusField.integer(200, 599) ?? null;
  const bodyField = obj.field('body');
  let body: string | null = null;
  if (!bodyField.missing) {
    const inner = bodyField.object();
    const inline = inner?.field('inline_string');
    inline?.require();
    body = inline?.string() ?? null;
    inner?.done();
  }
  const overrideField = obj.field('body_format_override');
  const bodyFormatOverride = overrideField.missing ? null : readFormat(overrideField);
  const headersToAdd = readHeadersToAdd(obj.field('headers_to_add'));
  obj.done();
  if (filter === undefined || (statusCode === null && !statusField.missing) || (body === null && !bodyField.missing)
    || bodyFormatOverride === undefined || headersToAdd === undefined) return undefined;
  return { filter, statusCode, body, bodyFormatOverride, headersToAdd };
}

/** http_connection_manager.local_reply_config; null when not set. */
export function readLocalReplyConfig(hcm: ObjectReader): LocalReplyConfig | null | undefined {
  const field = hcm.field('local_reply_config');
  if (field.missing) return null;
  const obj = field.object();
  if (obj === undefined) return undefined;
  const items = obj.field('mappers').list();
  if (items.length > MAX_MAPPERS) obj.field('mappers').problem(`lists ${items.length} mappers; at most ${MAX_MAPPERS}`);
  const mappers = items.slice(0, MAX_MAPPERS).map(readMapper);
  const formatField = obj.field('body_format');
  const bodyFormat = formatField.missing ? null : readFormat(formatField);
  obj.done();
  if (mappers.includes(undefined) || bodyFormat === undefined || items.length > MAX_MAPPERS) return undefined;
  return { mappers: mappers as LocalReplyMapper[], bodyFormat };
}
