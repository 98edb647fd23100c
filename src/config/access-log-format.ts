// Envoy's access-log format strings ("substitution format strings"): literal
// text with command operators such as %START_TIME(%s)%, %REQ(X?Y):Z% or
// %RESPONSE_CODE%. Parsed here once, when the config is read, into parts
// (literal text, or an operator with its argument and length limit); an
// unknown operator or a missing argument is a config problem, never a
// surprise on the request path. The worker compiles the parts
// (workers/access-log-format.ts).

/** The command operators Isthmus evaluates; values are documented in docs/access-log.md. */
export const ACCESS_LOG_OPERATORS = [
  'START_TIME', 'REQ', 'RESP', 'TRAILER', 'PROTOCOL', 'RESPONSE_CODE', 'RESPONSE_CODE_DETAILS', 'RESPONSE_FLAGS',
  'CONNECTION_TERMINATION_DETAILS', 'BYTES_RECEIVED', 'BYTES_SENT', 'DURATION', 'REQUEST_DURATION', 'RESPONSE_DURATION',
  'RESPONSE_TX_DURATION', 'UPSTREAM_HOST', 'UPSTREAM_CLUSTER', 'UPSTREAM_CLUSTER_RAW', 'UPSTREAM_LOCAL_ADDRESS',
  'UPSTREAM_TRANSPORT_FAILURE_REASON', 'DOWNSTREAM_REMOTE_ADDRESS', 'DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT',
  'DOWNSTREAM_LOCAL_ADDRESS', 'DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT', 'DOWNSTREAM_LOCAL_PORT', 'DOWNSTREAM_PEER_URI_SAN',
  'DOWNSTREAM_TLS_VERSION', 'REQUESTED_SERVER_NAME', 'ROUTE_NAME', 'UPSTREAM_REQUEST_ATTEMPT_COUNT', 'CONNECTION_ID',
  'HOSTNAME', 'GRPC_STATUS',
] as const;

export type AccessLogOperator = (typeof ACCESS_LOG_OPERATORS)[number];

/** Operators that need an argument: the header name(s), `X?Y` (Y when X is absent). */
const HEADER_OPERATORS: ReadonlySet<string> = new Set(['REQ', 'RESP', 'TRAILER']);

export interface FormatOperator {
  readonly op: AccessLogOperator;
  /** START_TIME: the strftime-style format ('' = Envoy's default); REQ/RESP/TRAILER: the header names, lowercased. */
  readonly arg: string;
  /** REQ/RESP/TRAILER `X?Y`: the fallback header ('' = none). */
  readonly alt: string;
  /** `:Z`: at most this many characters of the value (0 = no limit). */
  readonly maxLength: number;
}

/** Literal text (as written in the config) or an operator. */
export type FormatPart = string | FormatOperator;

/** `%NAME%`, `%NAME(arg)%` or `%NAME(arg):N%`; the argument may itself hold `%` (START_TIME's format) and ends at `)%` or `):N%`. */
const OPERATOR_AT = /^%([A-Z][A-Z0-9_]*)(?:\((.*?)\)(?::(\d+))?)?%/s;

/** Parses a format string; returns its parts, or the problem (a sentence naming the operator) when it is not valid. */
export function parseFormatString(text: string): FormatPart[] | string {
  const parts: FormatPart[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const pct = text.indexOf('%', i);
    if (pct === -1) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, pct);
    const m = OPERATOR_AT.exec(text.slice(pct));
    if (m === null) {
      return `has a '%' at offset ${pct} that starts no command operator (write operators as %NAME%, %NAME(ARG)% or %NAME(ARG):LENGTH%)`;
    }
    const op = operator(m[1]!, m[2], m[3]);
    if (typeof op === 'string') return op;
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(op);
    i = pct + m[0].length;
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

function operator(name: string, arg: string | undefined, length: string | undefined): FormatOperator | string {
  if (!(ACCESS_LOG_OPERATORS as readonly string[]).includes(name)) {
    return `uses the unknown command operator %${name}%; supported: ${ACCESS_LOG_OPERATORS.map((o) => `%${o}%`).join(', ')}`;
  }
  const maxLength = length === undefined ? 0 : Number(length);
  if (!Number.isSafeInteger(maxLength)) return `%${name}%: the length after ':' is too large`;
  if (HEADER_OPERATORS.has(name)) {
    if (arg === undefined || arg === '') return `%${name}% needs a header name: %${name}(X-HEADER)% or %${name}(X-HEADER?FALLBACK)%`;
    const [main, alt, extra] = arg.split('?');
    if (extra !== undefined || !validHeaderName(main!) || (alt !== undefined && !validHeaderName(alt))) {
      return `%${name}(${arg})%: expected a header name or two joined by '?'`;
    }
    return { op: name as AccessLogOperator, arg: main!.toLowerCase(), alt: (alt ?? '').toLowerCase(), maxLength };
  }
  if (name === 'START_TIME') return { op: 'START_TIME', arg: arg ?? '', alt: '', maxLength };
  if (arg !== undefined) return `%${name}% takes no argument (got "(${arg})")`;
  return { op: name as AccessLogOperator, arg: '', alt: '', maxLength };
}

/** An HTTP token, or a pseudo-header (`:path`). */
function validHeaderName(name: string): boolean {
  return /^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name);
}

/** Envoy's default format, used when a logger has no log_format. */
export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';
