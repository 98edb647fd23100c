// Text from config that the proxy writes into an HTTP head: a header value
// (RFC 9110 §5.5 field-value) or a part of a request-target or Location
// (path, host). CR or LF there would end the line and start a header the
// config's author, or whoever wrote to the control plane, chose; NUL cuts
// the head short in many parsers. Heads are written one byte per character
// (latin1), so a character above U+00FF would lose its high byte: U+010A
// would go out as LF. The readers refuse such text where config is read,
// and the head builders check again before writing what they composed.

import type { ValueReader } from './yaml-reader.js';

/** Not allowed in a field value: controls other than HTAB, and DEL. */
const UNSAFE_FIELD_VALUE = /[\0-\x08\x0a-\x1f\x7f]/;
/** The same, for a value written one byte per character: nothing above U+00FF either. */
const UNSAFE_ONE_BYTE_VALUE = /[\0-\x08\x0a-\x1f\x7f\u0100-\uffff]/;
/** Not allowed in a path, query or host: anything but printable ASCII (space included). */
const UNSAFE_URI_TEXT = /[^\x21-\x7e]/;

/** Whether text can be written (one byte per character) as a header value without changing the head's lines. */
export function isFieldValueSafe(text: string): boolean {
  return !UNSAFE_ONE_BYTE_VALUE.test(text);
}

/** Not allowed in a request-target as written: controls, space, DEL and what one byte cannot hold. */
const UNSAFE_REQUEST_TARGET = /[\0-\x20\x7f\u0100-\uffff]/;

/** Whether text can be written (one byte per character) as the request-target of a request line. */
export function isRequestTargetSafe(text: string): boolean {
  return !UNSAFE_REQUEST_TARGET.test(text);
}

/** Whether text can be written as (part of) a request-target, authority or Location from config. */
export function isUriTextSafe(text: string): boolean {
  return !UNSAFE_URI_TEXT.test(text);
}

const NAMES: Record<number, string> = { 0: 'NUL', 9: 'a tab', 10: 'LF', 13: 'CR', 32: 'a space' };

/** "CR", "LF", "U+010A", ...: the first character of text that `unsafe` matches. */
function firstUnsafe(text: string, unsafe: RegExp): string {
  const code = text.charCodeAt(text.search(unsafe));
  return NAMES[code] ?? `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Reads a path, query or host that will be written into a request line, Host
 * header or Location: printable ASCII only. Empty is allowed unless nonEmpty.
 */
export function readUriText(v: ValueReader, nonEmpty: boolean): string | undefined {
  const text = nonEmpty ? v.nonEmptyString() : v.string();
  if (text === undefined) return undefined;
  if (!isUriTextSafe(text)) {
    v.problem(`must be printable ASCII with no spaces or control characters (it contains ${firstUnsafe(text, UNSAFE_URI_TEXT)}); percent-encode other characters`);
    return undefined;
  }
  return text;
}

/**
 * Reads a header value: no CR, LF, NUL or other control character but HTAB. `oneByte` when the value is
 * written one byte per character (then nothing above U+00FF either); otherwise it is written as UTF-8.
 */
export function readFieldValue(v: ValueReader, oneByte: boolean): string | undefined {
  const text = v.string();
  if (text === undefined) return undefined;
  return checkFieldValue(v, text, oneByte) ? text : undefined;
}

/** Reports text (read from v) when it is not a safe field value; returns whether it is. */
export function checkFieldValue(v: ValueReader, text: string, oneByte: boolean): boolean {
  const unsafe = oneByte ? UNSAFE_ONE_BYTE_VALUE : UNSAFE_FIELD_VALUE;
  if (!unsafe.test(text)) return true;
  const extra = oneByte ? ' or characters above U+00FF' : '';
  v.problem(`must not contain CR, LF, NUL, other control characters${extra} (it contains ${firstUnsafe(text, unsafe)})`);
  return false;
}
