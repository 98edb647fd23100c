// Where our parsers and llhttp may disagree on purpose. Each class names the
// rule, says why we differ, and checks that the input really has the property
// (so a class cannot hide an unrelated bug). Anything else is a finding.
import { createRequire } from 'node:module';
import { PARSE_ERROR } from '../../src/native.js';
import { MAX_HEAD_BYTES, MAX_HEADERS } from './native-under-test.js';

/** What a class looks at: the input and both verdicts. */
export interface Disagreement {
  readonly kind: 'head' | 'chunked';
  readonly input: Buffer;
  readonly ours: { readonly verdict: string; readonly code: number; readonly length: number };
  readonly theirs: { readonly verdict: string; readonly errno: number; readonly length: number };
}

export interface DifferenceClass {
  readonly name: string;
  /** Why our parser differs from llhttp here. */
  readonly reason: string;
  applies(d: Disagreement, view: HeadView): boolean;
}

/** A rough, forgiving split of a request head, for the classes' checks only. */
export interface HeadView {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  /** field lines as sent (without line endings), up to the first empty line */
  readonly fields: readonly string[];
}

export function viewHead(input: Buffer): HeadView {
  let text = input.toString('latin1');
  while (text.startsWith('\r\n')) text = text.slice(2);
  const lines = text.split(/\r?\n/);
  const [method = '', target = '', ...rest] = (lines[0] ?? '').split(' ');
  const fields: string[] = [];
  for (let i = 1; i < lines.length && lines[i] !== ''; i++) fields.push(lines[i]!);
  return { method, target, version: rest.join(' '), fields };
}

function fieldName(line: string): string {
  const colon = line.indexOf(':');
  return (colon < 0 ? line : line.slice(0, colon)).toLowerCase();
}

/** OWS-trimmed (SP and HTAB only: String.trim would also take \xa0, which is obs-text here). */
function trimOws(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, '');
}

function values(view: HeadView, name: string): string[] {
  return view.fields.filter((f) => fieldName(f) === name).map((f) => trimOws(f.slice(f.indexOf(':') + 1)));
}

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const AUTHORITY = /^[A-Za-z0-9\-._~!$&'()*+,;=:[\]%]*$/;

const llhttpConstants = createRequire(import.meta.url)('undici/lib/llhttp/constants.js') as {
  METHODS: Record<string, number | string>;
  METHODS_HTTP: number[];
};
const LLHTTP_METHODS = new Set(llhttpConstants.METHODS_HTTP.map((n) => String(llhttpConstants.METHODS[n])));

/** llhttp errno values (undici/lib/llhttp/constants.js). */
const HPE = {
  STRICT: 2, UNEXPECTED_CONTENT_LENGTH: 4, INVALID_METHOD: 6, INVALID_URL: 7, INVALID_CONTENT_LENGTH: 11, INVALID_CHUNK_SIZE: 12,
  INVALID_TRANSFER_ENCODING: 15,
} as const;

const oursRefuses = (d: Disagreement, code: number): boolean => d.ours.verdict === 'error' && d.ours.code === code && d.theirs.verdict === 'complete';
const theirsRefuses = (d: Disagreement): boolean => d.ours.verdict === 'complete' && d.theirs.verdict === 'error';

/** The head's text up to its empty line (or all of it). */
function headText(input: Buffer): string {
  const text = input.toString('latin1');
  const lead = /^(\r\n)*/.exec(text)![0].length;
  const end = text.indexOf('\r\n\r\n', lead);
  return end < 0 ? text : text.slice(0, end + 4);
}

const BARE_CR_OR_LF = /\r(?!\n)|(?<!\r)\n/;

export const HEAD_DIFFERENCES: readonly DifferenceClass[] = [
  {
    name: 'CRLF line endings only',
    reason: 'RFC 9112 2.2: a bare CR is invalid; a bare LF MAY be taken as a line end, but a proxy that does so can be desynced from peers that do not (smuggling), so we refuse both',
    applies: (d) => d.ours.verdict === 'error' && d.ours.code === PARSE_ERROR.INVALID_LINE_ENDING && BARE_CR_OR_LF.test(headText(d.input)),
  },
  {
    name: 'request line is visible ASCII',
    reason: 'RFC 9112 3.2 / RFC 3986: a request-target is visible US-ASCII; llhttp also takes HTAB and bytes above 0x7f in it',
    applies: (d) => d.ours.verdict === 'error' && (d.ours.code === PARSE_ERROR.INVALID_TARGET || d.ours.code === PARSE_ERROR.INVALID_VERSION) &&
      /[^\x20-\x7e]/.test(d.input.toString('latin1').replace(/^(\r\n)+/, '').split('\r\n')[0]!),
  },
  {
    name: 'host required',
    reason: 'RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request without Host; llhttp does not look at Host',
    applies: (d, v) => oursRefuses(d, PARSE_ERROR.MISSING_HOST) && v.version === 'HTTP/1.1' && values(v, 'host').length === 0,
  },
  {
    name: 'one host',
    reason: 'RFC 9112 3.2: a server MUST answer 400 to a request with more than one Host field line',
    applies: (d, v) => oursRefuses(d, PARSE_ERROR.DUPLICATE_HOST) && values(v, 'host').length > 1,
  },
  {
    name: 'host syntax',
    reason: 'RFC 9112 3.2 / RFC 3986 3.2: Host must be an authority (no userinfo, path or spaces); we route by it',
    applies: (d, v) => oursRefuses(d, PARSE_ERROR.INVALID_HEADER_VALUE) && values(v, 'host').some((h) => !AUTHORITY.test(h) || h.includes('@')),
  },
  {
    name: 'whitespace before colon',
    reason: 'RFC 9112 5.1: a server MUST reject a field line with whitespace between name and colon (request smuggling)',
    applies: (d, v) => oursRefuses(d, PARSE_ERROR.WHITESPACE_BEFORE_COLON) && v.fields.some((f) => /^[^:]*[ \t]:/.test(f)),
  },
  {
    name: 'obs-fold',
    reason: 'RFC 9112 5.2: a server MUST reject obs-fold or replace it; a proxy must not pass folded lines on, so we reject',
    applies: (d, v) => oursRefuses(d, PARSE_ERROR.OBS_FOLD) && v.fields.slice(1).some((f) => f.startsWith(' ') || f.startsWith('\t')),
  },
  {
    name: 'field name is a token',
    reason: 'RFC 9110 5.1: field-name = token, so not empty and without whitespace or separators; llhttp takes an empty name and inner spaces',
    applies: (d, v) => d.ours.verdict === 'error' && (d.ours.code === PARSE_ERROR.INVALID_HEADER_NAME || d.ours.code === PARSE_ERROR.WHITESPACE_BEFORE_COLON) &&
      v.fields.some((f) => !f.includes(':') || !TCHAR.test(f.slice(0, f.indexOf(':')))),
  },
  {
    name: 'request-target form',
    reason: 'RFC 9112 3.2: authority-form only with CONNECT, asterisk-form only with OPTIONS, absolute-form without userinfo (RFC 9110 4.2.4)',
    applies: (d, v) => oursRefuses(d, PARSE_ERROR.INVALID_TARGET) && (!v.target.startsWith('/') || v.method === 'CONNECT'),
  },
  {
    name: 'HTTP/1.0 and 1.1 only',
    reason: 'an HTTP/1 proxy speaks HTTP/1.0 and HTTP/1.1 (RFC 9112 2.3); llhttp also takes 0.9 and 2.0 version strings',
    applies: (d, v) => oursRefuses(d, PARSE_ERROR.INVALID_VERSION) && v.version !== 'HTTP/1.0' && v.version !== 'HTTP/1.1',
  },
  {
    name: 'transfer-encoding',
    reason: 'RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; we decode one final chunked only and refuse other codings',
    applies: (d, v) => oursRefuses(d, PARSE_ERROR.INVALID_TRANSFER_ENCODING) && values(v, 'transfer-encoding').length > 0,
  },
  {
    name: 'content-length syntax',
    reason: 'RFC 9110 8.6: 1*DIGIT; we cap it at 15 digits (exact in a double) and refuse empty list elements',
    applies: (d, v) => oursRefuses(d, PARSE_ERROR.INVALID_CONTENT_LENGTH) && values(v, 'content-length').length > 0,
  },
  {
    name: 'content-length with transfer-encoding',
    reason: 'RFC 9112 6.3: a server MAY reject, a proxy MUST NOT forward both; we reject (smuggling) in HTTP/1.0 too',
    applies: (d, v) => oursRefuses(d, PARSE_ERROR.CONTENT_LENGTH_WITH_TRANSFER_ENCODING) && values(v, 'content-length').length > 0 && values(v, 'transfer-encoding').length > 0,
  },
  {
    name: 'head limits',
    reason: 'a 60 KiB head and 100 fields, as Envoy\'s defaults; llhttp has no limits (Node applies its own outside it)',
    applies: (d, v) => d.ours.verdict === 'error' && ((d.ours.code === PARSE_ERROR.HEAD_TOO_LARGE && d.input.length > MAX_HEAD_BYTES) ||
      (d.ours.code === PARSE_ERROR.TOO_MANY_HEADERS && v.fields.length > MAX_HEADERS)),
  },
  {
    name: 'absolute-form scheme',
    reason: 'RFC 3986 3.1: a scheme is ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ); llhttp takes letters only',
    applies: (d, v) => theirsRefuses(d) && d.theirs.errno === HPE.INVALID_URL && /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(v.target) && !/^[A-Za-z]+:/.test(v.target),
  },
  {
    name: 'extension method',
    reason: 'RFC 9110 9.1: a method is any token and a proxy forwards methods it does not know; llhttp knows a fixed list',
    applies: (d, v) => theirsRefuses(d) && d.theirs.errno === HPE.INVALID_METHOD && TCHAR.test(v.method) && !LLHTTP_METHODS.has(v.method),
  },
  {
    name: 'transfer-encoding list syntax',
    reason: 'RFC 9110 5.6.1: a recipient MUST accept empty list elements and OWS, so "chunked," and "chunked\\t" are chunked',
    applies: (d, v) => theirsRefuses(d) && d.theirs.errno === HPE.INVALID_TRANSFER_ENCODING &&
      values(v, 'transfer-encoding').flatMap((x) => x.split(',')).map((e) => trimOws(e).toLowerCase()).filter((e) => e !== '').join() === 'chunked',
  },
  {
    name: 'OWS around content-length',
    reason: 'RFC 9112 5: a field line is name ":" OWS value OWS, so "5\\t" is 5; llhttp refuses a trailing HTAB',
    applies: (d, v) => theirsRefuses(d) && d.theirs.errno === HPE.INVALID_CONTENT_LENGTH &&
      v.fields.filter((f) => fieldName(f) === 'content-length').some((f) => /[ \t]$/.test(f)),
  },
  {
    name: 'repeated equal content-length',
    reason: 'RFC 9110 8.6: equal values repeated (in lines or a list) may be taken as one; only differing values are refused',
    applies: (d, v) => {
      if (!theirsRefuses(d) || (d.theirs.errno !== HPE.UNEXPECTED_CONTENT_LENGTH && d.theirs.errno !== HPE.INVALID_CONTENT_LENGTH)) return false;
      const all = values(v, 'content-length').flatMap((x) => x.split(',').map(trimOws));
      return all.length > 1 && all.every((e) => /^\d+$/.test(e) && Number(e) === Number(all[0]));
    },
  },
];

/** A chunked body read by RFC 9112 7.1 to its first problem, independently of both parsers (for the classes' checks). */
export interface ChunkedWalk {
  /** the first problem, 'incomplete', or 'complete' */
  readonly result: 'complete' | 'incomplete' | 'line-ending' | 'size' | 'terminator' | 'trailer';
  /** some chunk extension is more than `;token=token` (BWS, a quoted-string value, a name without value, an empty one) */
  readonly bwsOrQuotedExtension: boolean;
  /** trailer field names seen (lowercase) */
  readonly trailerNames: readonly string[];
}

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const TCHAR_CLASS = `[${TCHARS.replace(/[-\\\]^]/g, '\\$&')}]`;
/** The extension part llhttp takes: at most one `;name=value` of tokens (it refuses a second extension). */
const STRICT_EXTENSIONS = new RegExp(`^(;${TCHAR_CLASS}+=${TCHAR_CLASS}+)?$`);
/** What can still become one (a line not complete yet). */
const STRICT_EXTENSIONS_PREFIX = new RegExp(`^(;${TCHAR_CLASS}*(=${TCHAR_CLASS}*)?)?$`);

/** Whether a chunk-size line's extension part (complete, or the start of one) goes beyond what llhttp takes. */
function lenientExtension(ext: string, complete: boolean): boolean {
  return !(complete ? STRICT_EXTENSIONS : STRICT_EXTENSIONS_PREFIX).test(ext);
}

export function walkChunked(body: Buffer): ChunkedWalk {
  const s = body.toString('latin1');
  let i = 0;
  let bwsOrQuotedExtension = false;
  const trailerNames: string[] = [];
  const done = (result: ChunkedWalk['result']): ChunkedWalk => ({ result, bwsOrQuotedExtension, trailerNames });
  /** The line at i (ended: its CR arrived; complete: its CRLF did, and i moves past it), or a bad line ending. */
  const line = (): { text: string; complete: boolean; ended: boolean } | 'line-ending' => {
    let j = i;
    while (j < s.length && s[j] !== '\r' && s[j] !== '\n') j++;
    if (j < s.length && s[j] === '\n') return 'line-ending';
    if (j + 1 < s.length && s[j + 1] !== '\n') return 'line-ending';
    const text = s.slice(i, j);
    if (j + 1 >= s.length) return { text, complete: false, ended: j < s.length };
    i = j + 2;
    return { text, complete: true, ended: true };
  };
  for (;;) {
    const size = line();
    if (size === 'line-ending') return done(size);
    const m = /^([0-9a-fA-F]*)(.*)$/.exec(size.text)!;
    if (lenientExtension(m[2]!, size.ended)) bwsOrQuotedExtension = true;
    if (!size.complete) return done(m[1] === '' && m[2] !== '' ? 'size' : 'incomplete');
    if (m[1] === '' || (m[2] !== '' && !/^[ \t]*;/.test(m[2]!))) return done('size');
    const n = parseInt(m[1]!, 16);
    if (n === 0) break;
    if (i + n > s.length) return done('incomplete');
    i += n;
    if (i + 2 > s.length) return done(s.slice(i) === '' || s.slice(i) === '\r' ? 'incomplete' : 'terminator');
    if (s.slice(i, i + 2) !== '\r\n') return done('terminator');
    i += 2;
  }
  for (;;) {
    const field = line();
    if (field === 'line-ending') return done(field);
    if (field.complete && field.text === '') return done('complete');
    const colon = field.text.indexOf(':');
    const name = colon < 0 ? field.text : field.text.slice(0, colon);
    // a name that is not a token (so far), or a complete line without a colon
    if ((name !== '' || colon === 0 || field.complete) && (!TCHAR.test(name) || (field.complete && colon < 0))) return done('trailer');
    if (colon > 0) trailerNames.push(name.toLowerCase());
    if (!field.complete) return done('incomplete');
  }
}

export const CHUNKED_DIFFERENCES: readonly DifferenceClass[] = [
  {
    name: 'CRLF line endings only (chunked)',
    reason: 'RFC 9112 7.1: chunk-size lines and trailer lines end with CRLF; llhttp takes a bare CR or LF in places',
    applies: (d) => d.ours.verdict === 'error' && walkChunked(d.input).result === 'line-ending',
  },
  {
    name: 'chunk extension characters',
    reason: 'RFC 9110 5.6.4 / 9112 7.1.1: no control characters or DEL in a chunk extension, quoted or not',
    applies: (d) => d.ours.verdict === 'error' && d.ours.code === PARSE_ERROR.BAD_CHUNK_SIZE && /(^|\n)[0-9a-fA-F]+;[^\r\n]*[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(d.input.toString('latin1')),
  },
  {
    name: 'chunk data ends with CRLF',
    reason: 'RFC 9112 7.1: chunk-data is followed by exactly CRLF; llhttp does not check every byte of it',
    applies: (d) => d.ours.verdict === 'error' && d.ours.code === PARSE_ERROR.BAD_CHUNK_TERMINATOR && walkChunked(d.input).result === 'terminator',
  },
  {
    name: 'chunk extension syntax',
    reason: 'RFC 9112 7.1.1: BWS around ";" and "=", names without a value, quoted-string values and several extensions are allowed (llhttp refuses them); we also pass an empty extension, harmless as extensions are dropped when the body is re-framed upstream',
    applies: (d) => d.ours.verdict !== 'error' && d.theirs.verdict === 'error' && (d.theirs.errno === HPE.STRICT || d.theirs.errno === HPE.INVALID_CHUNK_SIZE) &&
      walkChunked(d.input).bwsOrQuotedExtension,
  },
  {
    name: 'trailer fields are not interpreted',
    reason: 'RFC 9110 6.5.1: trailers are not merged into the header section; we check their syntax and drop them, llhttp applies Content-Length/Transfer-Encoding rules to them',
    applies: (d) => d.ours.verdict !== 'error' && d.theirs.verdict === 'error' && (d.theirs.errno === HPE.UNEXPECTED_CONTENT_LENGTH ||
      d.theirs.errno === HPE.INVALID_TRANSFER_ENCODING || d.theirs.errno === HPE.INVALID_CONTENT_LENGTH) &&
      walkChunked(d.input).trailerNames.some((n) => n === 'content-length' || n === 'transfer-encoding'),
  },
  {
    name: 'chunk-size line limit',
    reason: 'a chunk-size line with its extensions is at most 4 KiB; llhttp has no limit',
    applies: (d) => d.ours.verdict === 'error' && d.ours.code === PARSE_ERROR.CHUNK_LINE_TOO_LONG && /[^\n]{4096}/.test(d.input.toString('latin1')),
  },
  {
    name: 'chunk size range',
    reason: 'sizes above 2^53 - 1 (exact in a double) are refused; llhttp allows 64 bits',
    applies: (d) => d.ours.verdict === 'error' && d.ours.code === PARSE_ERROR.BAD_CHUNK_SIZE && /[0-9a-fA-F]{14}/.test(d.input.toString('latin1')),
  },
  {
    name: 'trailer section limit',
    reason: 'trailers are at most 60 KiB, as the head',
    applies: (d) => d.ours.verdict === 'error' && d.ours.code === PARSE_ERROR.TRAILERS_TOO_LARGE && d.input.length > 60 * 1024,
  },
  {
    name: 'trailer field syntax',
    reason: 'trailer fields follow the header rules (RFC 9112 7.1.2): a token name, no obs-fold, no whitespace before the colon',
    applies: (d) => d.ours.verdict === 'error' && d.ours.code === PARSE_ERROR.INVALID_TRAILER && walkChunked(d.input).result === 'trailer',
  },
];

/** The class that explains a disagreement, or undefined (a finding). */
export function explain(d: Disagreement): DifferenceClass | undefined {
  const classes = d.kind === 'head' ? HEAD_DIFFERENCES : CHUNKED_DIFFERENCES;
  const view = viewHead(d.input);
  return classes.find((c) => c.applies(d, view));
}
