// Logging for every role and thread: pino lines on fd 1, written
// asynchronously so a log line never blocks an event loop. JSON for
// machines; for a person at a terminal, pino-pretty's one-line coloured
// form (loaded only then: a piped sidecar never pays for it). Worker
// threads must not log through process.stdout (it is proxied to the main
// thread), so every thread opens its own SonicBoom on the raw fd.
import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import { isLogLevel, type LogFormat } from './log-levels.js';

export type { Logger } from 'pino';

export { LOG_FORMATS, LOG_LEVELS, isLogFormat, isLogLevel, type LogFormat } from './log-levels.js';

let destination: ReturnType<typeof pino.destination> | undefined;
let prettyStream: (DestinationStream & { flushSync?: () => void }) | undefined;

/** A field written in JSON lines only, for what the message already says in words (e.g. a rejected config's problems). */
export const JSON_ONLY_FIELD = 'detail';

/** Every logger made here and every child of one, so setLogLevel reaches them all (weakly held: children come and go). */
const loggers = new Set<WeakRef<Logger>>();

/**
 * One asynchronous fd-1 destination per thread, flushed synchronously when
 * the thread exits (pino registers its own exit flush on the main thread
 * only; a worker that calls process.exit() would otherwise lose its tail).
 */
function stdoutDestination(): ReturnType<typeof pino.destination> {
  if (destination === undefined) {
    const dest = pino.destination({ fd: 1, sync: false });
    destination = dest;
    process.once('exit', () => {
      try {
        dest.flushSync();
      } catch {
        // fd already closed or nothing buffered: nothing more to write.
      }
    });
  }
  return destination;
}

/** pino-pretty as a stream in this thread (not a transport thread: that would cost a thread and its heap). */
function prettyDestination(colorize: boolean): DestinationStream {
  if (prettyStream === undefined) {
    const require = createRequire(import.meta.url);
    const pretty = require('pino-pretty') as (options: Record<string, unknown>) => DestinationStream & { flushSync?: () => void };
    prettyStream = pretty({
      colorize,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: `pid,hostname,${JSON_ONLY_FIELD}`,
      destination: 1,
      sync: false,
    });
  }
  return prettyStream;
}

/**
 * The reader of fd 1 is gone (the parent that piped it exited): drop log lines from now on instead of writing
 * them. pino does the same when an asynchronous write meets EPIPE; without this, a line still buffered when the
 * process exits makes SonicBoom's flushSync retry EPIPE forever, and the process never exits.
 */
export function discardLogOutput(): void {
  for (const stream of [destination, prettyStream] as ({ write: unknown; flushSync?: unknown } | undefined)[]) {
    if (stream === undefined) continue;
    stream.write = () => true;
    stream.flushSync = () => undefined;
  }
}

/** Flushes buffered log lines now (call before process.exit()). */
export function flushLogs(): void {
  try {
    destination?.flushSync();
    prettyStream?.flushSync?.();
  } catch {
    // see above
  }
}

/** 'auto': pretty when stdout is a terminal (and this is the main thread), else JSON. */
export function resolveLogFormat(format: LogFormat | undefined): 'json' | 'pretty' {
  if (format === 'json' || format === 'pretty') return format;
  return process.stdout.isTTY === true ? 'pretty' : 'json';
}

/** Colours only for a terminal, and never when NO_COLOR is set (no-color.org). */
export function colorWanted(): boolean {
  return process.stdout.isTTY === true && (process.env.NO_COLOR === undefined || process.env.NO_COLOR === '');
}

export interface LoggerOptions {
  /** 'json' or 'pretty' (resolve 'auto' on the main thread: a worker has no terminal of its own). */
  readonly format?: LogFormat;
  /** Pretty output in colour; default: whether stdout is a terminal. */
  readonly colorize?: boolean;
}

/** Creates a named logger; `level` defaults to ISTHMUS_LOG_LEVEL or 'info', the format to JSON unless stdout is a terminal. */
export function createLogger(name: string, level?: string, options: LoggerOptions = {}): Logger {
  const wanted = level ?? process.env.ISTHMUS_LOG_LEVEL ?? 'info';
  const format = resolveLogFormat(options.format);
  const logger = pino(
    {
      name,
      level: isLogLevel(wanted) ? wanted : 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      onChild: (child) => {
        loggers.add(new WeakRef(child));
      },
    },
    format === 'pretty' ? prettyDestination(options.colorize ?? colorWanted()) : stdoutDestination(),
  );
  loggers.add(new WeakRef(logger));
  return logger;
}

/** Sets the level of every logger of this thread (admin /logging?level=); children made with their own level keep it only until then. */
export function setLogLevel(level: string): void {
  if (!isLogLevel(level)) throw new Error(`unknown log level '${level}'`);
  for (const ref of loggers) {
    const logger = ref.deref();
    if (logger === undefined) loggers.delete(ref);
    else logger.level = level;
  }
}

/**
 * A start-up failure, printed once where a person sees it: on stderr, and as a fatal JSON line only when the
 * log is JSON (read by a machine). At a terminal the pretty log line would repeat the stderr text.
 */
export function reportStartFailure(log: Logger, command: string, message: string): void {
  process.stderr.write(`isthmus ${command}: ${message}\n`);
  if (prettyStream === undefined) log.fatal({ error: message }, `${command} did not start`);
}
