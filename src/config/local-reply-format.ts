// Envoy format strings as local replies use them (local_reply_config body_format): split once at config
// time into pieces the data plane renders. Apart from the config reader so the data plane imports no
// reader (and with it no YAML library) to render them.

/** The command operators a local reply body format may use; the others are refused by name. */
export const LOCAL_REPLY_OPERATORS = ['LOCAL_REPLY_BODY', 'RESPONSE_CODE', 'RESPONSE_FLAGS', 'REQ(name)', 'PROTOCOL'] as const;

/** One piece of a format string: literal text, or an operator (`REQ` with its header, alternative and length). */
export type FormatPiece =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'LOCAL_REPLY_BODY' | 'RESPONSE_CODE' | 'RESPONSE_FLAGS' | 'PROTOCOL' }
  | { readonly kind: 'REQ'; readonly header: string; readonly alt: string | null; readonly maxLength: number | null };

const OPERATOR = /%([A-Z_]+)(?:\(([^)]*)\))?(?::(\d+))?%/g;

/** Splits an Envoy format string into pieces; returns a message naming the first operator not supported. */
export function parseFormatString(text: string): FormatPiece[] | string {
  const pieces: FormatPiece[] = [];
  let last = 0;
  // `%%` is a literal percent sign.
  const source = text;
  for (let i = 0; i < source.length; i++) {
    if (source[i] !== '%') continue;
    if (source[i + 1] === '%') {
      if (i > last) pieces.push({ kind: 'text', text: source.slice(last, i) });
      pieces.push({ kind: 'text', text: '%' });
      i++;
      last = i + 1;
      continue;
    }
    OPERATOR.lastIndex = i;
    const m = OPERATOR.exec(source);
    if (m === null || m.index !== i) return `has a "%" that starts no command operator at offset ${i} (write %% for a literal %)`;
    if (i > last) pieces.push({ kind: 'text', text: source.slice(last, i) });
    const [whole, name, arg, length] = m;
    if (name === 'REQ' && arg !== undefined && arg !== '') {
      const [header, alt] = arg.split('?');
      pieces.push({ kind: 'REQ', header: header!.toLowerCase(), alt: alt === undefined ? null : alt.toLowerCase(), maxLength: length === undefined ? null : Number(length) });
    } else if ((name === 'LOCAL_REPLY_BODY' || name === 'RESPONSE_CODE' || name === 'RESPONSE_FLAGS' || name === 'PROTOCOL') && arg === undefined) {
      pieces.push({ kind: name });
    } else {
      return `uses %${name}${arg === undefined ? '' : `(${arg})`}%, which local replies do not support (supported: ${LOCAL_REPLY_OPERATORS.map((o) => `%${o}%`).join(', ')})`;
    }
    i += whole!.length - 1;
    last = i + 1;
  }
  if (last < source.length) pieces.push({ kind: 'text', text: source.slice(last) });
  return pieces;
}
