// The default access-log line (a LineFormatter over DEFAULT_ACCESS_LOG_FORMAT)
// and the writer: every line parses with JSON.parse and carries the fields
// pino wrote before, whatever a hostile peer put in the method, path,
// authority, user agent, x-forwarded-for or request id; lines go out off the
// request path, in batches, from a bounded buffer. The request is a plain
// object with the fields the formatter reads (a unit test's stand-in).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ACCESS_LOG_FLUSH_INTERVAL_MS, AccessLog } from '../../workers/access-log.js';
import { isoTime, jsonEscape } from '../../workers/access-log-line.js';
import { LineFormatter } from '../../workers/access-log-format.js';
import { LineWriter } from '../../workers/access-log-writer.js';
import { AccessLogSet } from '../../workers/access-log-set.js';
import { AccessLogSinks } from '../../workers/access-log-sinks.js';
import { DEFAULT_ACCESS_LOG_FORMAT } from '../../src/config/access-log-defaults.js';
import type { ActiveRequest } from '../../workers/active-request.js';

interface AccessLogEntry {
  readonly startTime: number;
  readonly method: string;
  readonly path: string;
  readonly protocol: string;
  readonly responseCode: number;
  readonly responseFlags: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly durationMs: number;
  readonly upstreamHost: string;
  readonly upstreamCluster: string;
  readonly requestId: string;
  readonly authority: string;
  readonly forwardedFor: string;
  readonly userAgent: string;
  readonly peerUriSan: string;
}

const slots = new AccessLogSet();
const defaultLine = new LineFormatter(DEFAULT_ACCESS_LOG_FORMAT, slots, { localAddress: '127.0.0.1', localPort: 15001 });

/** The default line for an entry: the request fields it is built from, set on a stand-in request. */
function accessLogLine(e: AccessLogEntry): string {
  return defaultLine.format(standInRequest(e), { startMs: e.startTime, durationMs: e.durationMs, endMark: 0 });
}

/** A request with an entry's fields (what the default line reads of it). */
function standInRequest(e: AccessLogEntry): ActiveRequest {
  const headers = slots.requestHeaders.map((n) => (n === 'user-agent' ? e.userAgent : undefined));
  const req = {
    method: e.method, path: e.path, query: '', http11: e.protocol === 'HTTP/1.1', authority: e.authority, requestId: e.requestId,
    forwardedFor: e.forwardedFor, responseCode: e.responseCode, flags: e.responseFlags === 'UF' ? 4 : 0,
    bytesReceived: e.bytesReceived, bytesSent: e.bytesSent, loggedRequestHeaders: headers, loggedResponseHeaders: null,
    endpoint: e.upstreamHost === '-' ? null : { hostPort: e.upstreamHost },
    cluster: e.upstreamCluster === '-' ? null : { name: e.upstreamCluster },
    conn: { peerUriSan: e.peerUriSan, remoteAddress: '127.0.0.1', remotePort: 1, tlsVersion: '', requestedServerName: '', id: 1 },
  } as unknown as ActiveRequest;
  return req;
}

/** A string the default line writes as null when it is empty. */
const orNull = (s: string): string | null => (s === '' ? null : s);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-access-log-'));
  dirs.push(dir);
  return join(dir, 'sub', 'access.log');
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

function entry(over: Partial<AccessLogEntry> = {}): AccessLogEntry {
  return {
    startTime: 1_765_000_000_123.7,
    method: 'GET',
    path: '/api/items?x=1',
    protocol: 'HTTP/1.1',
    responseCode: 200,
    responseFlags: '-',
    bytesReceived: 0,
    bytesSent: 1024,
    durationMs: 1.6,
    upstreamHost: '127.0.0.1:8080',
    upstreamCluster: 'backend',
    requestId: '3b1f6a2e-0d1c-4c1e-9a51-5d3b1f2a9c10',
    authority: 'svc.example',
    forwardedFor: '10.0.0.1',
    userAgent: 'curl/8.5.0',
    peerUriSan: 'spiffe://cluster.local/ns/default/sa/client',
    ...over,
  };
}

/** The line exactly as the pino-based access log wrote it (the previous implementation), parsed. */
function pinoLine(e: AccessLogEntry): Record<string, unknown> {
  let out = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out += chunk.toString('utf8');
      cb();
    },
  });
  pino({ base: null, timestamp: false, messageKey: 'msg' }, sink).info({
    log: 'access',
    start_time: new Date(e.startTime).toISOString(),
    method: e.method,
    path: e.path,
    protocol: e.protocol,
    response_code: e.responseCode,
    response_flags: e.responseFlags,
    bytes_received: e.bytesReceived,
    bytes_sent: e.bytesSent,
    // Envoy's %DURATION% is whole milliseconds, truncated; a value the request does not have is null.
    duration: Number.isFinite(e.durationMs) ? Math.floor(e.durationMs) : null,
    upstream_host: e.upstreamHost === '-' ? null : e.upstreamHost,
    upstream_cluster: e.upstreamCluster === '-' ? null : e.upstreamCluster,
    x_forwarded_for: orNull(e.forwardedFor),
    user_agent: orNull(e.userAgent),
    request_id: orNull(e.requestId),
    authority: orNull(e.authority),
    downstream_peer_uri_san: orNull(e.peerUriSan),
  });
  return JSON.parse(out) as Record<string, unknown>;
}

const allLatin1 = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
const HOSTILE: readonly string[] = [
  '"',
  '\\',
  '\\"},{"log":"forged","x":"',
  '", "response_code": 500, "y": "',
  'line\nbreak\r\n{"log":"access"}',
  allLatin1, // every byte a header value can carry, latin1-decoded: controls, DEL, obs-text
  '\u0000\u001f\u007f',
  '\ud800', // lone high surrogate
  'x\udc00y', // lone low surrogate
  '\ud83d\ude00 emoji',
  '\u2028\u2029',
  '',
  'é'.repeat(3000),
];

describe('the default access-log line', () => {
  it('writes the fields pino wrote, in the same order, for an everyday request', () => {
    const e = entry();
    const line = accessLogLine(e);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const before = pinoLine(e);
    expect(parsed).toEqual(before);
    expect(Object.keys(parsed)).toEqual(Object.keys(before));
  });

  it('keeps every line one parseable ASCII line with the same values, whatever the request-sourced strings hold', () => {
    const fields = {
      method: 'method',
      path: 'path',
      authority: 'authority',
      userAgent: 'user_agent',
      forwardedFor: 'x_forwarded_for',
      requestId: 'request_id',
      upstreamCluster: 'upstream_cluster',
      peerUriSan: 'downstream_peer_uri_san',
    } as const;
    for (const value of HOSTILE) {
      for (const [field, key] of Object.entries(fields)) {
        const line = accessLogLine(entry({ [field]: value }));
        expect(/^[\x20-\x7e]*\n$/.test(line), `${field}=${JSON.stringify(value)}`).toBe(true);
        const parsed = JSON.parse(line) as Record<string, unknown>;
        // The value comes back exactly (pino wrote a lone surrogate as U+FFFD; the rest as here).
        const expected = { ...pinoLine(entry({ [field]: 'placeholder' })), [key]: value === '' && field !== 'path' && field !== 'upstreamCluster' ? null : value };
        expect(parsed).toEqual(expected);
        expect(Object.keys(parsed)).toEqual(Object.keys(expected));
      }
    }
  });

  it('writes numbers as JSON does (non-finite as null) and the start time as toISOString', () => {
    const e = entry({ responseCode: 503, bytesReceived: 12345678901, bytesSent: 0, durationMs: Number.NaN });
    expect(JSON.parse(accessLogLine(e))).toEqual(pinoLine(e));
    for (const t of [0, 999, 1000, 1_765_000_000_000, 1_765_000_000_001.9, 1_765_000_000_010, 1_765_000_000_999.99, 1_765_000_001_000, 253_402_300_799_999]) {
      expect(isoTime(t)).toBe(new Date(t).toISOString());
    }
  });

  it('writes nothing past its limit: a line that does not fit is refused whole, wherever the limit cuts it', () => {
    for (const e of [
      entry({}),
      entry({ path: 'a"b\\c\u00e9\n', userAgent: 'x\u0001y', requestId: '', responseCode: 503, bytesReceived: 12345678901, bytesSent: -1, durationMs: 2.5 }),
    ]) {
      const req = standInRequest(e);
      const times = { startMs: e.startTime, durationMs: e.durationMs, endMark: 0 };
      const line = Buffer.from(defaultLine.format(req, times), 'latin1');
      const w = new LineWriter();
      for (let limit = 0; limit <= line.length; limit++) {
        const buf = Buffer.alloc(line.length + 16, 0xee);
        w.reset(buf, 0, limit);
        defaultLine.write(req, times, w);
        expect(buf.subarray(limit).every((x) => x === 0xee), `limit ${limit}`).toBe(true);
        expect(w.overflow, `limit ${limit}`).toBe(limit < line.length);
        if (limit === line.length) expect(buf.subarray(0, w.pos)).toEqual(line);
      }
    }
  });

  it('escapes exactly what JSON needs and leaves plain strings alone', () => {
    expect(jsonEscape('/plain/path?a=b&c=d')).toBe('/plain/path?a=b&c=d');
    expect(jsonEscape('a"b\\c\nd\te\u0001f\u00e9')).toBe('a\\"b\\\\c\\nd\\te\\u0001f\\u00e9');
    for (const value of HOSTILE) expect(JSON.parse(`"${jsonEscape(value)}"`)).toBe(value);
  });
});

describe('AccessLog', () => {
  it('writes nothing on the request path and every line in one batch soon after', async () => {
    const file = tempFile();
    const log = new AccessLog(file);
    for (let i = 0; i < 100; i++) log.append(accessLogLine(entry({ path: `/r/${i}`, userAgent: HOSTILE[i % 12]! })));
    expect(readFileSync(file, 'utf8')).toBe(''); // the file (and its directory) exist, nothing written yet
    await nextTurn();
    await until(() => readFileSync(file, 'utf8').split("\n").length > 100);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => (JSON.parse(l) as { path: string }).path)).toEqual(Array.from({ length: 100 }, (_, i) => `/r/${i}`));
    expect(log.dropped).toBe(0);
  });

  it('keeps lines in order across many batches, some while an earlier one is in flight', async () => {
    const file = tempFile();
    const log = new AccessLog(file);
    const pad = 'x'.repeat(1000); // ~1.4 KB lines: 50 of them pass the 64 KiB that sends a batch at once
    for (let turn = 0; turn < 10; turn++) {
      for (let i = 0; i < 50; i++) log.append(accessLogLine(entry({ path: `/t/${turn * 50 + i}/${pad}` })));
      await nextTurn();
    }
    await until(() => readFileSync(file, 'utf8').split('\n').length > 500);
    const paths = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { path: string }).path);
    expect(paths).toEqual(Array.from({ length: 500 }, (_, i) => `/t/${i}/${pad}`));
    expect(log.dropped).toBe(0);
  });

  it('holds at most its buffer of lines, drops and counts the rest', async () => {
    const file = tempFile();
    let told = 0;
    const log = new AccessLog(file, () => told++, 16 * 1024);
    const path = `/${'p'.repeat(1000)}`; // ~1.4 KB lines: 11 fit in 16 KiB
    for (let i = 0; i < 100; i++) log.append(accessLogLine(entry({ path })));
    expect(log.dropped).toBeGreaterThanOrEqual(88);
    expect(told).toBe(log.dropped);
    await nextTurn();
    await until(() => readFileSync(file, 'utf8').split('\n').length > 100 - log.dropped);
    const written = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(written.length).toBe(100 - log.dropped);
    for (const l of written) expect((JSON.parse(l) as { path: string }).path).toBe(path);
  });

  it("is off with target 'off': nothing opened, nothing written", () => {
    const log = new AccessLog('off');
    expect(log.enabled).toBe(false);
    log.append(accessLogLine(entry()));
    expect(log.dropped).toBe(0);
  });

  it("takes no line when off: nothing is queued, so no write is tried later", async () => {
    const log = new AccessLog('off');
    log.append(accessLogLine(entry()));
    // A queued line would be flushed after ACCESS_LOG_FLUSH_INTERVAL_MS to fd -1 and throw in that timer.
    await new Promise((r) => setTimeout(r, ACCESS_LOG_FLUSH_INTERVAL_MS + 250));
    expect(log.dropped).toBe(0);
  });

  it('writes an access_log whose file is named off, stdout or stderr to that file in the working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-access-log-cwd-'));
    dirs.push(dir);
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const sinks = new AccessLogSinks(null);
      const configs = ['off', 'stdout', 'stderr'].map((path) => ({ sink: 'file' as const, path, format: DEFAULT_ACCESS_LOG_FORMAT, filter: null }));
      const set = AccessLogSet.compile(configs, new AccessLog('off'), sinks, { localAddress: '127.0.0.1', localPort: 15001 })!;
      const req = {
        method: 'GET', path: '/named', query: '', http11: true, authority: 'svc', requestId: 'id-1', forwardedFor: '', responseCode: 200,
        flags: 0, bytesReceived: 0, bytesSent: 2, loggedRequestHeaders: null, loggedResponseHeaders: null, endpoint: null, cluster: null,
        conn: { peerUriSan: '', remoteAddress: '127.0.0.1', remotePort: 1, tlsVersion: '', requestedServerName: '', id: 1 },
      } as unknown as ActiveRequest;
      set.log(req, Date.now(), 1, 0);
      const read = (name: string): string => {
        try {
          return readFileSync(join(dir, name), 'utf8');
        } catch {
          return '';
        }
      };
      await until(() => ['off', 'stdout', 'stderr'].every((n) => read(n).endsWith('\n')));
      for (const name of ['off', 'stdout', 'stderr']) expect((JSON.parse(read(name)) as { path: string }).path).toBe('/named');
    } finally {
      process.chdir(cwd);
    }
  });

  it('names the file it cannot open', () => {
    const notADir = tempFile().replace(/sub\/access\.log$/, 'plain-file');
    writeFileSync(notADir, '');
    const target = join(notADir, 'access.log');
    expect(() => new AccessLog(target)).toThrow(`access log: cannot open ${target}`);
  });
});
