// The access logs of one filter chain, compiled once per config version: the
// proxy's default log (--access-log) and the HCM's access_log entries, each a
// formatter, an optional filter and a sink (AccessLog: batched, bounded,
// written off the request path). The set also says which headers a request
// and its response must keep for them (REQ/RESP operators, header filters):
// the head's buffer is reused once the head is handled, so those values are
// copied out then, and only those.
import type { AccessLogConfig } from '../src/config/access-log-config.js';
import { DEFAULT_ACCESS_LOG_FORMAT } from '../src/config/access-log-defaults.js';
import type { ActiveRequest } from './active-request.js';
import type { AccessLog } from './access-log.js';
import { compileLogFilter, type LogFilter } from './access-log-filter.js';
import { LineFormatter, type ChainFacts, type HeaderSlots, type LogTimes } from './access-log-format.js';
import type { AccessLogSinks } from './access-log-sinks.js';
import { findHeader } from './header-block.js';

class Logger {
  constructor(
    readonly formatter: LineFormatter,
    readonly filter: LogFilter | null,
    readonly sink: AccessLog,
  ) {}
}

/** Scratch for the times of the request being logged (one request is logged at a time per thread). */
const times: LogTimes = { startMs: 0, durationMs: 0, endMark: 0 };

export class AccessLogSet implements HeaderSlots {
  /** Lowercase names of the request headers to keep (in slot order). */
  readonly requestHeaders: string[] = [];
  readonly responseHeaders: string[] = [];
  /**
   * Some format reads when the request ended or the response started (%REQUEST_DURATION%, %RESPONSE_DURATION%,
   * %RESPONSE_TX_DURATION%, %RESPONSE_CODE_DETAILS%): only then does a request take those two clock readings.
   */
  marks = false;
  private readonly loggers: Logger[] = [];

  /**
   * The chain's loggers: the default one first (when `defaultSink` is on), then `configs`. Opens the files they
   * name through `sinks` (throws when one cannot be opened: the config is not applied). Null when there are none.
   */
  static compile(configs: readonly AccessLogConfig[], defaultSink: AccessLog, sinks: AccessLogSinks, facts: ChainFacts): AccessLogSet | null {
    if (configs.length === 0 && !defaultSink.enabled) return null;
    const set = new AccessLogSet();
    if (defaultSink.enabled) set.loggers.push(new Logger(new LineFormatter(DEFAULT_ACCESS_LOG_FORMAT, set, facts), null, defaultSink));
    for (const c of configs) {
      const sink = c.sink === 'file' ? sinks.openFile(c.path) : sinks.open(c.sink);
      const filter = c.filter === null ? null : compileLogFilter(c.filter, set);
      set.loggers.push(new Logger(new LineFormatter(c.format, set, facts), filter, sink));
    }
    return set;
  }

  requestSlot(name: string): number {
    return slotOf(this.requestHeaders, name);
  }

  responseSlot(name: string): number {
    return slotOf(this.responseHeaders, name);
  }

  needMarks(): void {
    this.marks = true;
  }

  /** The request head's kept header values (buf/out valid now), method/path/authority already parsed into `req`. */
  captureRequest(buf: Buffer, out: Uint32Array, req: ActiveRequest): (string | undefined)[] | null {
    const names = this.requestHeaders;
    if (names.length === 0) return null;
    const values = new Array<string | undefined>(names.length);
    for (let i = 0; i < names.length; i++) {
      const n = names[i]!;
      values[i] = n.charCodeAt(0) === 0x3a ? pseudoHeader(n, req) : findHeader(buf, out, n);
    }
    return values;
  }

  /** The upstream response head's kept header values (buf/out valid now). */
  captureResponse(buf: Buffer, out: Uint32Array): (string | undefined)[] | null {
    const names = this.responseHeaders;
    if (names.length === 0) return null;
    const values = new Array<string | undefined>(names.length);
    for (let i = 0; i < names.length; i++) values[i] = findHeader(buf, out, names[i]!);
    return values;
  }

  /** Offers the finished request to every logger; each whose filter passes queues its line. */
  log(req: ActiveRequest, startMs: number, durationMs: number, endMark: number): void {
    const t = times;
    t.startMs = startMs;
    t.durationMs = durationMs;
    t.endMark = endMark;
    const loggers = this.loggers;
    for (let i = 0; i < loggers.length; i++) {
      const l = loggers[i]!;
      if (l.filter !== null && !l.filter.test(req, t)) continue;
      l.sink.appendLine(l.formatter, req, t);
    }
  }
}

function slotOf(names: string[], name: string): number {
  const i = names.indexOf(name);
  if (i !== -1) return i;
  names.push(name);
  return names.length - 1;
}

function pseudoHeader(name: string, req: ActiveRequest): string | undefined {
  switch (name) {
    case ':method': return req.method;
    case ':path': return req.query === '' ? req.path : req.path + '?' + req.query;
    case ':authority': return req.authority;
    case ':scheme': return req.conn.tlsVersion === '' ? 'http' : 'https';
    default: return undefined;
  }
}
