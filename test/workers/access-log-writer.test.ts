// The access log's byte writer (LineWriter) and AccessLog.appendLine: the
// bytes a line is written as are exactly those of the string the formatter
// used to build and write latin1 (JSON escapes, TEXT's \xNN, numbers as
// '' + n, toISOString), and a line that does not fit in what the bounded
// buffer has left is dropped whole and counted, never cut.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AccessLog } from '../../workers/access-log.js';
import { jsonEscape } from '../../workers/access-log-line.js';
import { LineWriter } from '../../workers/access-log-writer.js';
import { LineFormatter } from '../../workers/access-log-format.js';
import { AccessLogSet } from '../../workers/access-log-set.js';
import { DEFAULT_ACCESS_LOG_FORMAT } from '../../src/config/access-log-defaults.js';
import { parseFormatString, type FormatPart } from '../../src/config/access-log-format.js';
import type { AccessLogFormat } from '../../src/config/access-log-config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** What `write` puts in a roomy buffer, as a latin1 string. */
function written(write: (w: LineWriter) => void): string {
  const buf = Buffer.alloc(4096);
  const w = new LineWriter();
  w.reset(buf, 0, buf.length);
  write(w);
  expect(w.overflow).toBe(false);
  return buf.latin1Slice(0, w.pos);
}

const HOSTILE = ['', 'plain', 'q"uote\\back', '\r\n\t\b\f\u0000\u001f\u007f', 'héllo\u00ff', '日本\ud800', 'a'.repeat(300)];

describe('LineWriter', () => {
  it('writes JSON string contents exactly as jsonEscape makes them', () => {
    for (const s of HOSTILE) expect(written((w) => w.json(s))).toBe(jsonEscape(s));
  });

  it('writes numbers as string concatenation does, integers and the rest', () => {
    for (const n of [0, -0, 7, 10, 99, 100, 1024, 4294967295, 4294967296, 2 ** 53, 1e21, 3.25, -1, NaN, Infinity]) {
      expect(written((w) => w.num(n))).toBe('' + n);
    }
  });

  it('writes the start time as toISOString, across seconds and years', () => {
    for (const ms of [0, 1_765_000_000_000, 1_765_000_000_007.9, 1_765_000_000_999.99, 1_765_000_001_010, 951_782_400_500, 253_402_300_800_001]) {
      expect(written((w) => w.isoTime(ms))).toBe(new Date(Math.floor(ms)).toISOString());
    }
  });

  it('writes TEXT values with their control characters as \\xNN and other chars as their low byte', () => {
    expect(written((w) => w.text('a\r\nb\u007f\u0001é'))).toBe('a\\x0d\\x0ab\\x7f\\x01é');
    expect(written((w) => w.raw('é日'))).toBe(Buffer.from('é日', 'latin1').toString('latin1'));
  });

  it('writes nothing past its limit and says so', () => {
    const buf = Buffer.alloc(16, 0x2e);
    const w = new LineWriter();
    w.reset(buf, 2, 10);
    w.raw('abcd');
    w.json('"\n'); // 4 bytes: reaches the limit exactly
    expect(w.overflow).toBe(false);
    expect(w.pos).toBe(10);
    w.num(1);
    expect(w.overflow).toBe(true);
    expect(buf.latin1Slice(0, 16)).toBe('..abcd\\"\\n......');
  });
});

describe('AccessLog.appendLine', () => {
  const source = { write: (line: string, _t: null, w: LineWriter): void => w.raw(line) };

  function tempLog(maxBytes: number): { log: AccessLog; file: string } {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-access-writer-'));
    dirs.push(dir);
    const file = join(dir, 'access.log');
    return { log: new AccessLog(file, null, maxBytes), file };
  }

  it('queues lines in order and writes them in a batch off the request path', async () => {
    const { log, file } = tempLog(64 * 1024);
    for (let i = 0; i < 200; i++) log.appendLine(source, `line ${i}\n`, null);
    expect(readFileSync(file, 'utf8')).toBe('');
    const deadline = Date.now() + 5000;
    while (readFileSync(file, 'utf8').split('\n').length < 201 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(readFileSync(file, 'utf8')).toBe(Array.from({ length: 200 }, (_, i) => `line ${i}\n`).join(''));
  });

  it('drops a line that does not fit whole, counts it, and still takes a shorter one that fits', async () => {
    const { log, file } = tempLog(100);
    log.appendLine(source, 'x'.repeat(59) + '\n', null); // 60 bytes
    log.appendLine(source, 'y'.repeat(49) + '\n', null); // 50: would pass 100, dropped
    log.appendLine(source, 'z'.repeat(39) + '\n', null); // 40: exactly fills it
    log.appendLine(source, '\n', null); // 1: full, dropped
    expect(log.dropped).toBe(2);
    const deadline = Date.now() + 5000;
    while (readFileSync(file, 'utf8').length < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(readFileSync(file, 'utf8')).toBe('x'.repeat(59) + '\n' + 'z'.repeat(39) + '\n');
  });
});

describe('AccessLogSet.marks', () => {
  const facts = { localAddress: '127.0.0.1', localPort: 1 };
  const text = (s: string): AccessLogFormat => ({ kind: 'text', text: parseFormatString(s) as FormatPart[], json: [], omitEmptyValues: false, contentType: 'text/plain' });

  it('asks requests for their end/response-start clock readings only when a format reads them', () => {
    const plain = new AccessLogSet();
    new LineFormatter(DEFAULT_ACCESS_LOG_FORMAT, plain, facts);
    new LineFormatter(text('%RESPONSE_CODE% %DURATION% %REQ(:PATH)%\n'), plain, facts);
    expect(plain.marks).toBe(false);
    for (const op of ['%REQUEST_DURATION%', '%RESPONSE_DURATION%', '%RESPONSE_TX_DURATION%', '%RESPONSE_CODE_DETAILS%']) {
      const set = new AccessLogSet();
      new LineFormatter(text(`${op}\n`), set, facts);
      expect(set.marks, op).toBe(true);
    }
  });
});

describe('a compiled format writing into a bounded buffer', () => {
  const facts = { localAddress: '127.0.0.1', localPort: 1 };

  it('writes the line format() gives when it fits exactly, and flags (not cuts) it one byte short', () => {
    const set = new AccessLogSet();
    const f = new LineFormatter(DEFAULT_ACCESS_LOG_FORMAT, set, facts);
    const req = {
      method: 'GET', path: '/p"\n', query: 'q=é', http11: true, authority: 'a', requestId: 'id', forwardedFor: '', responseCode: 200, flags: 0,
      bytesReceived: 41, bytesSent: 1024, loggedRequestHeaders: set.requestHeaders.map(() => 'ua\u0001'), loggedResponseHeaders: null,
      endpoint: { hostPort: '127.0.0.1:80' }, cluster: { name: 'c' }, conn: { peerUriSan: '', remoteAddress: '', remotePort: 0, tlsVersion: '', requestedServerName: '', id: 1 },
    } as unknown as Parameters<LineFormatter['format']>[0];
    const t = { startMs: 1_765_000_000_123.7, durationMs: 3.9, endMark: 0 };
    const line = Buffer.from(f.format(req, t), 'latin1');
    expect(JSON.parse(line.toString('latin1'))).toMatchObject({ path: '/p"\n?q=é', user_agent: 'ua\u0001', duration: 3, start_time: '2025-12-06T05:46:40.123Z' });
    const buf = Buffer.alloc(line.length + 20, 0x2e);
    const w = new LineWriter();
    w.reset(buf, 10, 10 + line.length);
    f.write(req, t, w);
    expect(w.overflow).toBe(false);
    expect(buf.subarray(10, w.pos).equals(line)).toBe(true);
    w.reset(buf, 10, 10 + line.length - 1);
    f.write(req, t, w);
    expect(w.overflow).toBe(true);
  });
});

describe('a JSON format whose literal text is not ASCII', () => {
  const facts = { localAddress: '127.0.0.1', localPort: 1 };
  const value = (s: string): { kind: 'format'; parts: FormatPart[] } => ({ kind: 'format', parts: parseFormatString(s) as FormatPart[] });

  it('gives the config author\'s text back when the line is parsed (not its UTF-8 bytes read as latin1), plain, omitting empties and nested', () => {
    const fields = [
      { key: 'msg', value: value('héllo → %PROTOCOL% 日本 "q" \\') },
      { key: 'only', value: value('naïve ✓') },
      { key: 'nested', value: { kind: 'object' as const, fields: [{ key: 'x', value: value('ü %PROTOCOL%') }] } },
    ];
    const req = { http11: true, http2Stream: null } as unknown as Parameters<LineFormatter['format']>[0];
    const t = { startMs: 0, durationMs: 0, endMark: 0 };
    for (const omitEmptyValues of [false, true]) {
      const format: AccessLogFormat = { kind: 'json', text: [], json: fields, omitEmptyValues, contentType: 'application/json' };
      const line = new LineFormatter(format, new AccessLogSet(), facts).format(req, t);
      expect(JSON.parse(line), `omit_empty_values ${omitEmptyValues}`).toEqual({
        msg: 'héllo → HTTP/1.1 日本 "q" \\', only: 'naïve ✓', nested: { x: 'ü HTTP/1.1' },
      });
    }
  });
});
