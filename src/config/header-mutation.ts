// The four header lists Envoy allows at route config, virtual host and route
// level: request_headers_to_add/remove and response_headers_to_add/remove.

import type { HeaderMutation, HeaderValueOption } from './bootstrap-types.js';
import { checkFieldValue } from './head-text.js';
import { readHeaderName } from './string-match.js';
import type { ObjectReader, ValueReader } from './yaml-reader.js';

const APPEND_ACTIONS = ['APPEND_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT'] as const;

/** Envoy values may hold %FORMATTER% commands; we support none, only the `%%` escape for a literal '%'. */
function unescapeHeaderValue(v: ValueReader, raw: string): string | undefined {
  if (!checkFieldValue(v, raw, false)) return undefined; // written as UTF-8 (route-header-plan.ts)
  if (raw.replace(/%%/g, '').includes('%')) {
    v.problem('uses a %FORMATTER% command, which is not supported (write %% for a literal %)');
    return undefined;
  }
  return raw.replace(/%%/g, '%');
}

function forbidden(name: string): boolean {
  // Envoy refuses to mutate pseudo-headers and Host through these lists.
  return name.startsWith(':') || name === 'host';
}

/** config.core.v3.HeaderValueOption */
function readHeaderValueOption(v: ValueReader): HeaderValueOption | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const headerField = obj.field('header');
  headerField.require();
  const header = headerField.object();
  let key: string | undefined;
  let value: string | undefined;
  if (header !== undefined) {
    const keyField = header.field('key');
    keyField.require();
    key = readHeaderName(keyField, false);
    if (key !== undefined && forbidden(key)) {
      keyField.problem(`must not be "${key}" (Envoy does not allow changing it here)`);
      key = undefined;
    }
    const valueField = header.field('value');
    const raw = valueField.string();
    value = raw === undefined ? (valueField.missing ? '' : undefined) : unescapeHeaderValue(valueField, raw);
    header.done();
  }
  const which = obj.oneOf(['append', 'append_action'], false);
  let append: boolean | undefined = true; // Envoy's default: APPEND_IF_EXISTS_OR_ADD
  if (which === 'append') append = obj.field('append').bool();
  else if (which === 'append_action') {
    const f = obj.field('append_action');
    const action = f.enumOf(APPEND_ACTIONS);
    if (action === 'ADD_IF_ABSENT') f.problem('ADD_IF_ABSENT is not supported');
    append = action === undefined || action === 'ADD_IF_ABSENT' ? undefined : action === 'APPEND_IF_EXISTS_OR_ADD';
  } else if (which === null) append = undefined;
  obj.done();
  if (key === undefined || value === undefined || append === undefined) return undefined;
  return { key, value, append };
}

/** A list of HeaderValueOption (also the local rate limit's response_headers_to_add). */
export function readHeaderValueOptions(v: ValueReader): HeaderValueOption[] {
  const out: HeaderValueOption[] = [];
  for (const item of v.list()) {
    const option = readHeaderValueOption(item);
    // Envoy drops an added header whose value is empty (keep_empty_value defaults to false).
    if (option !== undefined && option.value !== '') out.push(option);
  }
  return out;
}

function readRemoves(v: ValueReader): string[] {
  const out: string[] = [];
  for (const item of v.list()) {
    const name = readHeaderName(item, false);
    if (name === undefined) continue;
    if (forbidden(name)) item.problem(`must not be "${name}" (Envoy does not allow removing it)`);
    else out.push(name);
  }
  return out;
}

/** Reads the four header lists from obj (each optional, default empty). */
export function readHeaderMutation(obj: ObjectReader): HeaderMutation {
  return {
    requestHeadersToAdd: readHeaderValueOptions(obj.field('request_headers_to_add')),
    requestHeadersToRemove: readRemoves(obj.field('request_headers_to_remove')),
    responseHeadersToAdd: readHeaderValueOptions(obj.field('response_headers_to_add')),
    responseHeadersToRemove: readRemoves(obj.field('response_headers_to_remove')),
  };
}
