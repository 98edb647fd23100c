// The one module that loads the C++ addon (native/, built by `npm run build:native`)
// and gives it types. Hot-path functions are the addon's own functions, not
// wrappers: they take numbers and typed arrays, return a number and allocate nothing.
//
// Buffer lifetimes: every offset the parsers return is into the `buf` passed to
// that call and stays valid as long as the caller keeps that buffer unchanged.
import { packageRoot } from './process/compiled-path.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BoundSocket {
  readonly fd: number;
  readonly port: number;
}

/** What startAccepting returns: an opaque handle for resumeAccepting / stopAccepting. */
export interface Acceptor {
  readonly __acceptor: unique symbol;
}

interface IsthmusAddon {
  listenReusePort(host: string, port: number, backlog: number): BoundSocket;
  reservePort(host: string, port: number): BoundSocket;
  closeFd(fd: number): void;
  setMallocArenaMax(max: number): boolean;
  setMallocThresholds(trimBytes: number, mmapBytes: number): boolean;
  releaseBinaryPages(): number;
  startPageReleaser(periodMs: number, limitMs: number): boolean;
  stopPageReleaser(): number;
  binaryPagesToRelease(smaps: string): number[];
  startAccepting(fd: number, onAccept: (fdOrError: number) => void): Acceptor;
  resumeAccepting(acceptor: Acceptor): void;
  stopAccepting(acceptor: Acceptor): void;
  frameResponses(state: Float64Array, buf: Uint8Array, start: number, end: number): number;
  runClosedLoop(fds: Int32Array, request: Buffer, warmupMs: number, durationMs: number, maxRequests: number, latencies: Float64Array, counters: Float64Array): void;
  parseRequestHead(buf: Buffer, start: number, end: number, out: Uint32Array, maxHeadBytes: number, maxHeaders: number): number;
  parseResponseHead(buf: Buffer, start: number, end: number, out: Uint32Array, maxHeadBytes: number, maxHeaders: number): number;
  checkPartialRequestHead(buf: Buffer, start: number, end: number, state: Uint32Array, maxHeadBytes: number, maxHeaders: number): number;
  decodeChunked(buf: Buffer, start: number, end: number, state: Float64Array, segments: Uint32Array): number;
  decodeChunkedInPlace(buf: Buffer, start: number, end: number, state: Float64Array): number;
  transportInit(readBuffer: Buffer, events: Int32Array, onEvents: (count: number) => void, highWaterMark: number): void;
  transportAdopt(fd: number): number;
  transportConnect(ip: string, port: number, timeoutMs: number): number;
  transportWrite(id: number, data: Buffer | string | ReadonlyArray<Buffer | string>): boolean;
  transportWriteRead(id: number, head: Buffer | null, start: number, end: number): boolean;
  transportPause(id: number): void;
  transportResume(id: number): void;
  transportShutdown(id: number): void;
  transportAllowHalfOpen(id: number): void;
  transportClose(id: number): void;
  transportReset(id: number): void;
  transportSetTimeout(id: number, ms: number): void;
  transportRemoteAddress(id: number): string;
  transportRemotePort(id: number): number;
  transportReadCounts(): [number, number];
  transportStartTls(id: number, context: TlsContextHandle, serverName: string, expectedSan?: TlsSanMatcher): void;
  transportTlsFeed(id: number, buf: Uint8Array, start: number, end: number): void;
  transportTlsPeer(id: number): TlsPeer | null;
  transportTlsError(id: number): string;
  tlsCreateContext(config: TlsContextConfig): TlsContextHandle;
  tlsContextCertificates(context: TlsContextHandle): TlsContextCertificates;
  tlsCreateSession(context: TlsContextHandle, serverName: string, expectedSan?: TlsSanMatcher): TlsSessionHandle;
  tlsSessionFeed(session: TlsSessionHandle, cipher: Uint8Array, start: number, end: number, plain: Buffer, plainStart: number, state: Uint32Array): number;
  tlsSessionWrite(session: TlsSessionHandle, buf?: Uint8Array, start?: number, end?: number): Buffer | null;
  tlsSessionTakeCiphertext(session: TlsSessionHandle): Buffer | null;
  tlsSessionShutdown(session: TlsSessionHandle): Buffer | null;
  tlsSessionPeer(session: TlsSessionHandle): TlsPeer;
  tlsSessionError(session: TlsSessionHandle): string;
  tlsSessionFree(session: TlsSessionHandle): void;
  x509ReadCsr(pem: string): CsrFacts;
  x509VerifyCsr(csr: CsrHandle): boolean;
  X509Signer: X509SignerClass;
}

/** Opaque: a PKCS#10 request parsed by x509ReadCsr (freed when garbage-collected). */
export interface CsrHandle {
  readonly __csr: unique symbol;
}

/** What x509ReadCsr reads from a CSR (native/x509_csr.h); the policy on it is control/ca/csr-reader.ts's. */
export interface CsrFacts {
  readonly csr: CsrHandle;
  /** Dotted OIDs. */
  readonly keyAlgorithm: string;
  /** An EC key's named curve, '' when it names none. */
  readonly curve: string;
  /** An uncompressed point of exactly the size of its curve (P-256 or P-384). */
  readonly ecPointUncompressed: boolean;
  /** OpenSSL could build the key (an EC point on its curve, a readable RSA key). */
  readonly keyLoaded: boolean;
  readonly keyBits: number;
  readonly signatureAlgorithm: string;
  readonly uriSans: readonly string[];
  /** How many requested names are not URIs. */
  readonly otherSans: number;
  /** '' or why the extension request cannot be read. */
  readonly extensionError: string;
}

/** The CA's signer in the addon (native/x509_issue.h): one per CA key. */
export interface X509SignerInstance {
  /** takes the subject's key (a CSR from x509ReadCsr, or SPKI DER), names ("URI:x", "DNS:x", "IP:x"), validity
   *  (ms since 1970; whole seconds are kept) and a positive serial of 1-20 bytes; returns the certificate PEM.
   *  Throws an Error saying what was wrong. */
  issue(key: CsrHandle | Buffer, sans: readonly string[], notBeforeMs: number, notAfterMs: number, serial: Buffer): string;
}

export type X509SignerClass = new (certPem: string | Buffer, keyPem: string | Buffer) => X509SignerInstance;

/** A subject-alt-name the peer's certificate must carry. */
export interface TlsSanMatcher {
  readonly type: 'URI' | 'DNS';
  readonly kind: 'exact' | 'prefix' | 'suffix' | 'contains';
  readonly value: string;
  readonly ignoreCase?: boolean;
}

/** What tlsCreateContext takes (native/tls_config.h). Versions are TLS_VERSION values. */
export interface TlsContextConfig {
  readonly server: boolean;
  /** Server: one or more (chosen by SNI, the first is the default); client: at most one (its client certificate). */
  readonly certificates?: readonly { readonly chain: string | Buffer; readonly key: string | Buffer }[];
  /** PEM bundle; absent = the peer is not verified. */
  readonly trustedCa?: string | Buffer;
  readonly sanMatchers?: readonly TlsSanMatcher[];
  readonly alpn?: readonly string[];
  readonly minVersion?: number;
  readonly maxVersion?: number;
  readonly requireClientCertificate?: boolean;
  /** 80 bytes: 16 name + 32 HMAC + 32 AES. */
  readonly ticketKey?: Buffer;
}

export const TLS_VERSION = { TLS1_2: 0x0303, TLS1_3: 0x0304 } as const;

/** Bits of the status tlsSessionFeed writes to state[0]. */
export const TLS_STATUS = { HANDSHAKE_DONE: 1, FAILED: 2, PEER_CLOSED: 4, PLAINTEXT_PENDING: 8 } as const;

export interface TlsCertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly serial: string;
  readonly sha256: string;
  /** Unix seconds. */
  readonly notBefore: number;
  readonly notAfter: number;
  readonly uriSans: readonly string[];
  readonly dnsSans: readonly string[];
}

export interface TlsContextCertificates {
  readonly certificates: readonly TlsCertificateInfo[];
  readonly trustedCas: readonly TlsCertificateInfo[];
}

export interface TlsPeer {
  readonly alpn: string;
  readonly serverName: string;
  readonly version: string;
  readonly cipher: string;
  readonly resumed: boolean;
  readonly certificate: TlsCertificateInfo | null;
}

/** Opaque: a TLS context (one certificate set and policy); sessions keep the one they started with. */
export interface TlsContextHandle {
  readonly __tlsContext: unique symbol;
}

/** Opaque: one TLS connection's state over memory buffers. */
export interface TlsSessionHandle {
  readonly __tlsSession: unique symbol;
}

/** The package root: the nearest folder above this file holding package.json (works from src/ and dist/src/). */
/** Absolute path of the loaded addon, for diagnostics. */
export const addonPath: string = join(packageRoot(dirname(fileURLToPath(import.meta.url))), 'build', 'Release', 'isthmus.node');

function loadAddon(): IsthmusAddon {
  try {
    return createRequire(import.meta.url)(addonPath) as IsthmusAddon;
  } catch (cause) {
    throw new Error(`isthmus: cannot load the native addon at ${addonPath} (run \`npm run build:native\`)`, { cause });
  }
}

const addon = loadAddon();

/** takes a host literal (IPv4 or IPv6, no brackets), a port (0 = any) and a backlog; returns a listening,
 *  non-blocking TCP socket with SO_REUSEADDR + SO_REUSEPORT (IPV6_V6ONLY for IPv6) and its bound port.
 *  Throws an Error with `.code` = errno name ('EADDRINUSE', 'EACCES', 'EINVAL', ...) naming host:port. */
export const listenReusePort: (host: string, port: number, backlog: number) => BoundSocket = addon.listenReusePort;

/** takes a host literal and port; returns a bound (not listening) SO_REUSEPORT socket: reserves a port (e.g. to
 *  resolve port 0 once) so several threads can then listenReusePort on it; no connection ever lands on it. */
export const reservePort: (host: string, port: number) => BoundSocket = addon.reservePort;

/** takes an fd returned above that was not handed to net.Server; closes it (throws with `.code` on failure). */
export const closeFd: (fd: number) => void = addon.closeFd;

/** takes nothing; drops this process's mappings of the clean read-only pages of the node binary, its libraries and addons (native/binary_pages.cc); returns kB released. */
export const releaseBinaryPages: () => number = addon.releaseBinaryPages;
/** takes an smaps text; returns the [start, end) pairs releaseBinaryPages would release (tests). */
export const binaryPagesToRelease: (smaps: string) => number[] = addon.binaryPagesToRelease;
/** takes a period in ms (1..1000) and a limit (1..600000 ms); starts a thread releasing the binary's clean pages that
 *  often for at most limitMs (native/startup_page_releaser.cc); false when one runs already. */
export const startPageReleaser: (periodMs: number, limitMs: number) => boolean = addon.startPageReleaser;
/** takes nothing; stops that thread; returns how many rounds it ran (0 when none ran). */
export const stopPageReleaser: () => number = addon.stopPageReleaser;
/** takes a count (1-1024); caps glibc's malloc arenas for threads that have none yet (native/malloc_tuning.cc);
 *  returns false where the C library has no such setting. */
export const setMallocArenaMax: (max: number) => boolean = addon.setMallocArenaMax;
/** takes glibc's trim and mmap thresholds in bytes (4096 to 64 MiB each); fixes them, which also ends glibc's raising
 *  them after a large free (native/malloc_tuning.cc); returns false where the C library has no such settings. */
export const setMallocThresholds: (trimBytes: number, mmapBytes: number) => boolean = addon.setMallocThresholds;

/** takes a listening fd (from listenReusePort; the acceptor owns it from now on) and onAccept; accepts connections
 *  on this thread's event loop and calls onAccept(fd) with each new connection's fd (non-blocking; wrap it with
 *  `new net.Socket({ fd })` or close it with closeFd). When accept fails for lack of resources (EMFILE, ENFILE,
 *  ENOBUFS, ENOMEM) it stops watching the socket, leaving connections queued in the kernel's backlog, and calls
 *  onAccept(-errno) once: call resumeAccepting when descriptors may be free again (a connection closed). Returns the
 *  handle; the socket is closed by stopAccepting or when the thread exits. */
export const startAccepting: (fd: number, onAccept: (fdOrError: number) => void) => Acceptor = addon.startAccepting;

/** takes a handle from startAccepting; watches its socket again after a pause (no-op while accepting or stopped). */
export const resumeAccepting: (acceptor: Acceptor) => void = addon.resumeAccepting;

/** takes a handle from startAccepting; stops accepting and closes the listening socket (idempotent). */
export const stopAccepting: (acceptor: Acceptor) => void = addon.stopAccepting;

/** The bench load generator's closed loop on already-connected sockets (their fds; Node must not be reading
 *  them): one `request` in flight per connection for warmupMs + durationMs (blocking the calling thread), at most
 *  maxRequests sent; latencies (ms) of answers completed in the measured window go to `latencies` (as many as fit),
 *  and counters get [completed, errors (status >= 400, dropped connections), sent, latencies recorded]. */
export const runClosedLoop: (
  fds: Int32Array,
  request: Buffer,
  warmupMs: number,
  durationMs: number,
  maxRequests: number,
  latencies: Float64Array,
  counters: Float64Array,
) => void = addon.runClosedLoop;

/** Layout of the Uint32Array `out` filled by parseRequestHead/parseResponseHead. Offsets are absolute in `buf`. */
export const HEAD = {
  METHOD_START: 0, METHOD_END: 1, // request; for a response: STATUS_CODE at 0
  STATUS_CODE: 0,
  TARGET_START: 2, TARGET_END: 3, // request target; for a response: reason phrase start/end
  VERSION_MINOR: 4, // 0 or 1 (major is always 1)
  HEADER_COUNT: 5,
  FLAGS: 6,
  CONTENT_LENGTH_LO: 7, CONTENT_LENGTH_HI: 8, // valid when FLAG.CONTENT_LENGTH; value = hi * 2**32 + lo
  HOST_INDEX: 9, // index of the Host header, 0xffffffff when absent
  HEADERS: 16, // then SLOTS_PER_HEADER slots per header i at HEADERS + 5*i:
  NAME_START: 0, NAME_END: 1, VALUE_START: 2, VALUE_END: 3, HEADER_ID: 4,
  SLOTS_PER_HEADER: 5,
} as const;

/** HOST_INDEX when the head has no Host header. */
export const NO_HOST_INDEX = 0xffffffff;

export const FLAG = {
  CHUNKED: 1, // Transfer-Encoding present and its last coding is chunked
  CONTENT_LENGTH: 2,
  CONNECTION_CLOSE: 4, // Connection header has the token "close"
  CONNECTION_KEEP_ALIVE: 8, // Connection header has "keep-alive"
  UPGRADE: 16, // Upgrade header present
  EXPECT_CONTINUE: 32, // Expect: 100-continue
  CONNECTION_OTHER: 64, // Connection names other tokens (hop-by-hop headers the caller must strip)
  TRANSFER_ENCODING: 128, // any Transfer-Encoding header present
  CONNECTION_UPGRADE: 256, // Connection header has "upgrade"
} as const;

/** Header ids for headers a proxy treats specially (HEADER_ID slot); 0 = any other header. */
export const HEADER_ID = {
  OTHER: 0, HOST: 1, CONTENT_LENGTH: 2, TRANSFER_ENCODING: 3, CONNECTION: 4, KEEP_ALIVE: 5,
  PROXY_CONNECTION: 6, TE: 7, TRAILER: 8, UPGRADE: 9, X_FORWARDED_FOR: 10, X_FORWARDED_PROTO: 11,
  X_REQUEST_ID: 12, EXPECT: 13,
} as const;

/** Negative return codes of the parsers (native/parse_errors.h). */
export const PARSE_ERROR = {
  INVALID_METHOD: -1, INVALID_TARGET: -2, INVALID_VERSION: -3, INVALID_HEADER_NAME: -4,
  INVALID_HEADER_VALUE: -5, OBS_FOLD: -6, WHITESPACE_BEFORE_COLON: -7, INVALID_LINE_ENDING: -8,
  INVALID_CONTENT_LENGTH: -9, DUPLICATE_CONTENT_LENGTH: -10, CONTENT_LENGTH_WITH_TRANSFER_ENCODING: -11,
  INVALID_TRANSFER_ENCODING: -12, HEAD_TOO_LARGE: -13, TOO_MANY_HEADERS: -14, DUPLICATE_HOST: -15,
  MISSING_HOST: -16, INVALID_STATUS: -17,
  BAD_CHUNK_SIZE: -20, BAD_CHUNK_TERMINATOR: -21, CHUNK_LINE_TOO_LONG: -22, TRAILERS_TOO_LARGE: -23, INVALID_TRAILER: -24,
} as const;

const PARSE_ERROR_REASONS: ReadonlyMap<number, string> = new Map([
  [PARSE_ERROR.INVALID_METHOD, 'invalid method'],
  [PARSE_ERROR.INVALID_TARGET, 'invalid request target'],
  [PARSE_ERROR.INVALID_VERSION, 'invalid http version'],
  [PARSE_ERROR.INVALID_HEADER_NAME, 'invalid header name'],
  [PARSE_ERROR.INVALID_HEADER_VALUE, 'invalid header value'],
  [PARSE_ERROR.OBS_FOLD, 'obsolete line folding'],
  [PARSE_ERROR.WHITESPACE_BEFORE_COLON, 'whitespace before colon'],
  [PARSE_ERROR.INVALID_LINE_ENDING, 'invalid line ending'],
  [PARSE_ERROR.INVALID_CONTENT_LENGTH, 'invalid content-length'],
  [PARSE_ERROR.DUPLICATE_CONTENT_LENGTH, 'differing content-length values'],
  [PARSE_ERROR.CONTENT_LENGTH_WITH_TRANSFER_ENCODING, 'content-length with transfer-encoding'],
  [PARSE_ERROR.INVALID_TRANSFER_ENCODING, 'invalid transfer-encoding'],
  [PARSE_ERROR.HEAD_TOO_LARGE, 'header block too large'],
  [PARSE_ERROR.TOO_MANY_HEADERS, 'too many headers'],
  [PARSE_ERROR.DUPLICATE_HOST, 'duplicate host header'],
  [PARSE_ERROR.MISSING_HOST, 'missing host header'],
  [PARSE_ERROR.INVALID_STATUS, 'invalid status line'],
  [PARSE_ERROR.BAD_CHUNK_SIZE, 'invalid chunk size line'],
  [PARSE_ERROR.BAD_CHUNK_TERMINATOR, 'chunk data not followed by crlf'],
  [PARSE_ERROR.CHUNK_LINE_TOO_LONG, 'chunk size line too long'],
  [PARSE_ERROR.TRAILERS_TOO_LARGE, 'trailer section too large'],
  [PARSE_ERROR.INVALID_TRAILER, 'invalid trailer field'],
]);

/** takes a negative parser return code; returns a stable lowercase reason for logs and tests. */
export function parseErrorReason(code: number): string {
  return PARSE_ERROR_REASONS.get(code) ?? `unknown parse error ${code}`;
}

/** takes a negative parser return code; returns the HTTP status a proxy answers it with (431 or 400). */
export function parseErrorStatus(code: number): number {
  return code === PARSE_ERROR.HEAD_TOO_LARGE || code === PARSE_ERROR.TOO_MANY_HEADERS ? 431 : 400;
}

/** takes the header limit; returns the length `out` needs: HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * maxHeaders. */
export function headSlots(maxHeaders: number): number {
  return HEAD.HEADERS + HEAD.SLOTS_PER_HEADER * maxHeaders;
}

/** takes buf[start,end) holding the start of a request; returns bytes consumed (> 0: the whole head including
 *  the final CRLFCRLF and any leading empty lines) when complete, 0 when more bytes are needed, or a negative
 *  PARSE_ERROR. Fills `out` (HEAD layout, absolute offsets; only meaningful after a positive return). Lowercases
 *  header names in place in `buf`; values are OWS-trimmed. A head not complete within maxHeadBytes (or incomplete
 *  with end - start > maxHeadBytes) gives HEAD_TOO_LARGE; more than maxHeaders fields give TOO_MANY_HEADERS.
 *  Stateless: after a 0, call again from the same start with more bytes. Throws TypeError/RangeError only for
 *  wrong argument types or ranges (out shorter than headSlots(maxHeaders)), never for peer input. */
export const parseRequestHead: (buf: Buffer, start: number, end: number, out: Uint32Array, maxHeadBytes: number, maxHeaders: number) => number =
  addon.parseRequestHead;

/** same for a response head (`HTTP/1.x NNN reason`, status 100-599); STATUS_CODE slot holds the code and
 *  TARGET_START/END the reason phrase. A Transfer-Encoding whose last coding is not chunked means a
 *  close-delimited body (FLAG.TRANSFER_ENCODING without FLAG.CHUNKED). */
export const parseResponseHead: (buf: Buffer, start: number, end: number, out: Uint32Array, maxHeadBytes: number, maxHeaders: number) => number =
  addon.parseResponseHead;

/** State of checkPartialRequestHead: new Uint32Array(PARTIAL_HEAD.STATE_SIZE), all zeros for a new head. */
export const PARTIAL_HEAD = { STATE_SIZE: 5 } as const;

/** takes buf[start,end) holding the start of a request head that parseRequestHead found incomplete, and `state`
 *  from earlier calls on the same head (same start, more bytes since); checks only the bytes added since, so a
 *  head trickled in byte by byte costs linear time. Returns 0 while the bytes can still begin a valid head, the
 *  head's length (> 0) once its final empty line arrived (then parse it with parseRequestHead, which also checks
 *  the checks across fields, such as differing Content-Length values), or the negative PARSE_ERROR parseRequestHead
 *  gives for these bytes. Lowercases header names in place, as parseRequestHead does. State offsets are relative to start, so the bytes may be copied into a new buffer between calls. */
export const checkPartialRequestHead: (buf: Buffer, start: number, end: number, state: Uint32Array, maxHeadBytes: number, maxHeaders: number) => number =
  addon.checkPartialRequestHead;

/** Chunked body decoder state: new Float64Array(CHUNKED.STATE_SIZE) (all zeros = start of a body). */
export const CHUNKED = {
  STATE_SIZE: 8,
  PHASE: 0,
  DONE_PHASE: 15,
  CONSUMED: 4, // absolute offset in buf up to which input was consumed
  TRAILER_BYTES: 5, // bytes of the trailer section so far
  TRAILER_START: 6, // absolute offset where this call's trailer-section bytes begin (== CONSUMED: none); left in place
  MAX_LINE_BYTES: 4096, // chunk-size line incl. extensions, else CHUNK_LINE_TOO_LONG
  MAX_TRAILER_BYTES: 60 * 1024, // else TRAILERS_TOO_LARGE
} as const;

/** takes buf[start,end) of a chunked body, continuing from `state`; writes data ranges into `segments` as absolute
 *  [start0,end0,start1,end1,...] offsets into buf (no bytes copied); returns the number of ranges or a negative
 *  PARSE_ERROR. state[CHUNKED.CONSUMED] is set to the absolute offset up to which input was consumed: when
 *  segments is full it stops early (call again from there); at the end of the message (last-chunk, trailers and
 *  the final CRLF consumed) state[PHASE] === DONE_PHASE and CONSUMED points just past the message. Trailers are
 *  validated (header-field rules) and skipped. */
export const decodeChunked: (buf: Buffer, start: number, end: number, state: Float64Array, segments: Uint32Array) => number =
  addon.decodeChunked;

/** takes buf[start,end) of a chunked body, continuing from `state` (the same state machine and errors as
 *  decodeChunked); moves all the data it finds in that range down so it is contiguous at buf[start, start + n)
 *  and returns n (>= 0), or a negative PARSE_ERROR. WRITES INTO buf: bytes in [start, CONSUMED) are overwritten
 *  (the data, then stale bytes); bytes at and after CONSUMED are untouched. state[CHUNKED.CONSUMED] is the
 *  absolute offset up to which input was consumed: `end`, or just past the message when state[PHASE] ===
 *  DONE_PHASE (a later request or response may follow there), or the offending byte after an error. One call per read, however small the chunks:
 *  the per-chunk work is native. */
export const decodeChunkedInPlace: (buf: Buffer, start: number, end: number, state: Float64Array) => number =
  addon.decodeChunkedInPlace;

/** Size of the Float64Array frameResponses keeps its state in; a new zeroed one starts a connection. */
export const FRAMER_STATE = { SIZE: 15, ERROR_RESPONSES: 0, MALFORMED: 1 } as const;

/** Frames HTTP/1.1 responses in buf[start, end) (the bench client's framer, native/response_framer.cc); returns
 *  how many completed. state carries partial responses between calls and counts status >= 400 responses. */
export const frameResponses: (state: Float64Array, buf: Uint8Array, start: number, end: number) => number = addon.frameResponses;

/** Record codes of the native transport's event batch (native/socket_transport.h). A record is 4 int32s:
 *  [id, code, a, b]; DATA: a = offset into the read buffer, b = length; ERROR / CONNECT_FAILED: a = errno. */
export const TRANSPORT_EVENT = {
  DATA: 1,
  EOF: 2,
  ERROR: 3,
  CONNECTED: 4,
  CONNECT_FAILED: 5,
  WRITABLE: 6,
  CLOSED: 7,
  TIMEOUT: 8,
  /** The conn's TLS handshake completed (transportTlsPeer tells the rest). */
  TLS_HANDSHAKE: 9,
  /** Its TLS session failed (transportTlsError says why); the alert is already queued. */
  TLS_FAILED: 10,
  RECORD_INTS: 4,
} as const;

/** takes this thread's read buffer (>= 64 KiB), the Int32Array the event records go to, the callback called with
 *  their count (once per loop turn with events, or when either fills up) and the write high-water mark in bytes;
 *  once per thread. Bytes of DATA records are valid only during that callback. */
export const transportInit: (readBuffer: Buffer, events: Int32Array, onEvents: (count: number) => void, highWaterMark: number) => void =
  addon.transportInit;
/** takes an accepted non-blocking socket's fd (the transport owns it from now on), returns its id; reading starts. */
export const transportAdopt: (fd: number) => number = addon.transportAdopt;
/** takes an IP literal, a port and a connect timeout (ms, 0 = none), returns the id; CONNECTED or CONNECT_FAILED follows. */
export const transportConnect: (ip: string, port: number, timeoutMs: number) => number = addon.transportConnect;
/** takes an id and bytes (latin1 for strings), returns false when what waits for the kernel is over the high-water
 *  mark (WRITABLE follows once it drained), else true. */
export const transportWrite: (id: number, data: Buffer | string | ReadonlyArray<Buffer | string>) => boolean = addon.transportWrite;
/** takes an id, a head (or null) and a range of this thread's read buffer; writes both as one (see transportWrite). */
export const transportWriteRead: (id: number, head: Buffer | null, start: number, end: number) => boolean = addon.transportWriteRead;
/** takes an id; stops / starts reading it. */
export const transportPause: (id: number) => void = addon.transportPause;
export const transportResume: (id: number) => void = addon.transportResume;
/** takes an id; half-closes (FIN) once what is queued is written; the socket closes when the peer's FIN came too. */
export const transportShutdown: (id: number) => void = addon.transportShutdown;
/** takes an id; from now on the peer's FIN only ends reading (EOF): our side half-closes when transportShutdown is called. */
export const transportAllowHalfOpen: (id: number) => void = addon.transportAllowHalfOpen;
/** takes an id; closes now, dropping what is queued (CLOSED follows). */
export const transportClose: (id: number) => void = addon.transportClose;
/** takes an id; closes with SO_LINGER 0, so the peer gets a reset (CLOSED follows). */
export const transportReset: (id: number) => void = addon.transportReset;
/** takes an id and ms (0 = none); TIMEOUT when the socket neither read nor wrote for that long. */
export const transportSetTimeout: (id: number, ms: number) => void = addon.transportSetTimeout;
/** takes an id, returns the peer's IP address ('' when unknown). */
export const transportRemoteAddress: (id: number) => string = addon.transportRemoteAddress;
export const transportRemotePort: (id: number) => number = addon.transportRemotePort;
/** recv calls this thread's transport made since transportInit, and how many of them found nothing (EAGAIN). */
export const transportReadCounts: () => [number, number] = addon.transportReadCounts;
/** takes a TlsContextConfig; returns a context. Throws an Error naming what is wrong (bad PEM, key mismatch, ...). */
/** takes a conn id, a context and, for a client, the SNI name ('' = none) and a SAN the server must carry; the conn
 *  reads and writes through a TLS session in the addon from now on: DATA records carry plaintext, writes take
 *  plaintext, and TLS_HANDSHAKE / TLS_FAILED records report the handshake. A client sends its ClientHello at once. */
export const transportStartTls: (id: number, context: TlsContextHandle, serverName: string, expectedSan?: TlsSanMatcher) => void =
  addon.transportStartTls;
/** takes a TLS conn's id and buf[start, end): ciphertext JS held (the ClientHello the tls_inspector peeked at). */
export const transportTlsFeed: (id: number, buf: Uint8Array, start: number, end: number) => void = addon.transportTlsFeed;
/** takes a conn id; returns what its completed handshake told, or null. */
export const transportTlsPeer: (id: number) => TlsPeer | null = addon.transportTlsPeer;
/** takes a conn id; returns why its TLS session failed ('' when it has not). */
export const transportTlsError: (id: number) => string = addon.transportTlsError;
export const tlsCreateContext: (config: TlsContextConfig) => TlsContextHandle = addon.tlsCreateContext;

/** takes a context; returns its certificates' and trusted CAs' public details (never a key). */
export const tlsContextCertificates: (context: TlsContextHandle) => TlsContextCertificates = addon.tlsContextCertificates;

/** takes a context, the SNI name a client sends ('' = none; ignored by a server) and, for a client, an extra SAN
 *  the server must present; returns a session. */
export const tlsCreateSession: (context: TlsContextHandle, serverName: string, expectedSan?: TlsSanMatcher) => TlsSessionHandle =
  addon.tlsCreateSession;

/** takes (session, cipher, start, end, plain, plainStart, state); feeds cipher[start, end), advances the handshake and
 *  decrypts into plain[plainStart..]; returns plaintext bytes written. state[0] = TLS_STATUS bits, state[1] = ciphertext
 *  bytes waiting to be sent. With PLAINTEXT_PENDING call again with an empty range. */
export const tlsSessionFeed: (session: TlsSessionHandle, cipher: Uint8Array, start: number, end: number, plain: Buffer,
  plainStart: number, state: Uint32Array) => number = addon.tlsSessionFeed;

/** takes (session[, buf, start, end]); encrypts buf[start, end) (handshake must be done) and returns all pending
 *  ciphertext as a new Buffer, or null. */
export const tlsSessionWrite: (session: TlsSessionHandle, buf?: Uint8Array, start?: number, end?: number) => Buffer | null =
  addon.tlsSessionWrite;

/** takes a session; returns pending ciphertext (handshake flights, alerts, tickets) or null. */
export const tlsSessionTakeCiphertext: (session: TlsSessionHandle) => Buffer | null = addon.tlsSessionTakeCiphertext;

/** takes a session; queues close_notify and returns the pending ciphertext or null. */
export const tlsSessionShutdown: (session: TlsSessionHandle) => Buffer | null = addon.tlsSessionShutdown;

/** takes a session whose handshake is done; returns ALPN, SNI, version, cipher, resumption and the peer certificate. */
export const tlsSessionPeer: (session: TlsSessionHandle) => TlsPeer = addon.tlsSessionPeer;

/** takes a session; returns why it failed, '' if it has not. */
export const tlsSessionError: (session: TlsSessionHandle) => string = addon.tlsSessionError;

/** takes a session; frees it now (idempotent; later calls on it throw). */
export const tlsSessionFree: (session: TlsSessionHandle) => void = addon.tlsSessionFree;

/** takes a CSR PEM (at most 16 KiB); returns its facts and the parsed request, or throws an Error with code
 *  ERR_CSR_INVALID whose message says what is wrong (not one PEM block, not PKCS#10, too long). */
export const x509ReadCsr: (pem: string) => CsrFacts = addon.x509ReadCsr;

/** takes a CSR from x509ReadCsr; returns whether its self-signature verifies with its own key. */
export const x509VerifyCsr: (csr: CsrHandle) => boolean = addon.x509VerifyCsr;

/** new X509Signer(signing certificate PEM, its private key PEM): throws an Error when they do not match or cannot be read. */
export const X509Signer: X509SignerClass = addon.X509Signer;

// ---- native HTTP/2 sessions (native/h2_*.cc) ----

interface H2Addon {
  h2Init(events: Int32Array, arena: Buffer, dispatch: (count: number) => void): void;
  h2Open(connId: number, settings: Uint32Array): number;
  h2Receive(handle: number, buf: Buffer, start: number, end: number): number;
  h2EventCount(): number;
  h2Respond(handle: number, streamId: number, status: number, headers: string, endStream: boolean): boolean;
  /** The fields of the HTTP/1.1 response head head[start, end) (parseResponseHead'd), read in C++. */
  h2Respond(handle: number, streamId: number, status: number, head: Buffer, endStream: boolean, start: number, end: number): boolean;
  /** Queues data (or data[start, end), copied) on the stream; 1 ok, 0 over the high water mark (DRAIN follows), -1 gone. */
  h2Write(handle: number, streamId: number, data: Buffer, start?: number, end?: number): number;
  h2End(handle: number, streamId: number, trailers: string | undefined): void;
  h2Reset(handle: number, streamId: number, code: number): void;
  h2SetReading(handle: number, streamId: number, reading: boolean): void;
  h2Control(handle: number, what: number): void;
  h2Counters(out: Float64Array): void;
  h2cOpen(connId: number, settings: Uint32Array): number;
  h2cReceive(handle: number, buf: Buffer, start: number, end: number): number;
  h2cRequest(handle: number, headers: string, endStream: boolean, headRequest: boolean): number;
  h2cRequestHead(handle: number, head: Buffer, scheme: string, endStream: boolean, headRequest: boolean): number;
  h2cWrite(handle: number, streamId: number, data: Buffer): number;
  h2cEnd(handle: number, streamId: number, trailers?: string): void;
  h2cReset(handle: number, streamId: number, code: number): void;
  h2cSetReading(handle: number, streamId: number, reading: boolean): void;
  h2cControl(handle: number, what: number): void;
}
const h2 = addon as unknown as H2Addon;

/** Records of the native HTTP/2 event batch (native/h2_session.h): 5 int32s [session, code | flags, stream, a, b]. */
export const H2_EVENT = {
  /** a = offset into the arena, b = length: the request as an HTTP/1.1 head; flags below in the code's bits 8+. */
  HEAD: 1,
  /** a = offset into the buffer given to h2Receive, b = length. */
  DATA: 2,
  /** a = offset into the arena, b = length. */
  DATA_ARENA: 3,
  END: 4,
  /** a = HTTP/2 error code, b = 1 when the stream closed before its response was all sent. */
  CLOSE: 5,
  DRAIN: 6,
  /** stream 0; a = 1: reset the connection (the peer does not read), 0: end it after what is queued. */
  SESSION_END: 7,
  CODE_MASK: 0xff,
  END_STREAM: 1 << 8,
  GRPC: 1 << 9,
  TE_TRAILERS: 1 << 10,
  REFUSE_400: 1 << 11,
  REFUSE_403: 1 << 12,
  /** HEAD: the head's parse words (HEAD's layout, offsets from the head's start) follow it in the arena at the next multiple of 4. */
  HEAD_PARSED: 1 << 13,
  /** Client sessions (native/h2_client_session.h): a = offset into the arena, b = length of the response as an
   *  HTTP/1.1 head; the status in the code's bits 16+, RESP_* flags in bits 8+. */
  RESPONSE: 8,
  /** a = offset into the arena, b = length of the "name\0value\0"... trailer block. */
  TRAILERS: 9,
  /** stream 0; a = the peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  SETTINGS: 10,
  /** stream 0; a = last stream id, b = error code. */
  GOAWAY: 11,
  RESP_END_STREAM: 1 << 8,
  RESP_HAS_LENGTH: 1 << 9,
  /** The head's parse words (HEAD's layout) follow it in the arena at the next multiple of 4. */
  RESP_PARSED: 1 << 10,
  RESP_STATUS_SHIFT: 16,
  RECORD_INTS: 5,
} as const;

/** Indexes of h2Counters' output (native/h2_session.h H2Counter). */
export const H2_COUNTER = {
  PROTOCOL_ERROR: 0,
  PREMATURE_RESETS: 1,
  RX_RESET: 2,
  HEADER_OVERFLOW: 3,
  OUTBOUND_FLOOD: 4,
  CONTINUATION_FLOOD: 5,
  INBOUND_FLOOD: 6,
  INVALID_FRAMES: 7,
  STREAMS: 8,
  COUNT: 9,
} as const;

/** takes the event array (>= 256 records), the arena request heads are copied into (>= 128 KiB) and the callback
 *  given the count of records the loop-turn flush produced; once per thread. */
export const h2Init: H2Addon['h2Init'] = h2.h2Init;
/** takes a native transport conn id and [maxStreams, streamWindow, connWindow, maxHeaderList, maxOutboundFrames,
 *  maxOutboundControlFrames]; returns a session handle, or -1. */
export const h2Open: H2Addon['h2Open'] = h2.h2Open;
/** takes a handle and plaintext buf[start, end); returns bytes consumed (call again for the rest after handling the
 *  h2EventCount() records) or -1 when the session is over. */
export const h2Receive: H2Addon['h2Receive'] = h2.h2Receive;
export const h2EventCount: H2Addon['h2EventCount'] = h2.h2EventCount;
/** takes a handle, stream, status, "name\0value\0"... and whether no body follows; false when the stream is gone. */
export const h2Respond: H2Addon['h2Respond'] = h2.h2Respond;
/** takes a handle, stream and body bytes (copied); 1 queued, 0 queued over the limit (DRAIN follows), -1 gone. */
export const h2Write: H2Addon['h2Write'] = h2.h2Write;
/** takes a handle, stream and trailers ("name\0value\0"... or undefined); ends the response. */
export const h2End: H2Addon['h2End'] = h2.h2End;
export const h2Reset: H2Addon['h2Reset'] = h2.h2Reset;
export const h2SetReading: H2Addon['h2SetReading'] = h2.h2SetReading;
/** what: 0 the socket drained, 1 graceful GOAWAY, 2 free the session. */
export const h2Control: H2Addon['h2Control'] = h2.h2Control;
export const h2Counters: H2Addon['h2Counters'] = h2.h2Counters;
/** takes a connected native transport conn id and [streamWindow, connWindow, maxHeaderList, maxOutboundFrames,
 *  maxOutboundControlFrames]; returns a client session handle (same handle space as h2Open), or -1. */
export const h2cOpen: H2Addon['h2cOpen'] = h2.h2cOpen;
/** takes a client handle and plaintext buf[start, end); as h2Receive. */
export const h2cReceive: H2Addon['h2cReceive'] = h2.h2cReceive;
/** takes a client handle, "name\0value\0"... (pseudo-headers first), whether no body follows and whether the method
 *  is HEAD; returns the stream id or -1. */
export const h2cRequest: H2Addon['h2cRequest'] = h2.h2cRequest;
/** takes a client handle, the router's HTTP/1.1 request head (parseRequestHead'd: names lowercased), the :scheme,
 *  endStream and headRequest; the same request as h2cRequest's block, built in C++; returns the stream id or -1. */
export const h2cRequestHead: H2Addon['h2cRequestHead'] = h2.h2cRequestHead;
/** takes a client handle, stream and request body bytes (copied); 1 queued, 0 over the limit (DRAIN follows), -1 gone. */
export const h2cWrite: H2Addon['h2cWrite'] = h2.h2cWrite;
export const h2cEnd: H2Addon['h2cEnd'] = h2.h2cEnd;
export const h2cReset: H2Addon['h2cReset'] = h2.h2cReset;
export const h2cSetReading: H2Addon['h2cSetReading'] = h2.h2cSetReading;
/** what: 0 the socket drained, 1 graceful GOAWAY, 2 free the session. */
export const h2cControl: H2Addon['h2cControl'] = h2.h2cControl;
