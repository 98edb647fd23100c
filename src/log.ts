// Logging for every role and thread: pino lines on fd 1, written
// asynchronously so a log line never blocks an event loop. JSON for
// machines; for a person at a terminal, pino-pretty's one-line coloured
// form (loaded only then: a piped sidecar never pays for it). Worker
// threads must not log through process.stdout (it is proxied to the main
// thread), so every thread opens its own SonicBoom on the raw fd.
import { Buffer } from 'node:buffer';
import { createRequire } from 'node:module';
import type * as Fs from 'node:fs';
import pino, { type DestinationStream, type Logger } from 'pino';
import { isLogLevel, type LogFormat } from './log-levels.js';

export type { Logger } from 'pino';

export { LOG_FORMATS, LOG_LEVELS, isLogFormat, isLogLevel, type LogFormat } from './log-levels.js';

let destination: ReturnType<typeof pino.destination> | undefined;
let prettyStream: (DestinationStream & { flushSync?: () => void }) | undefined;

/** The CommonJS `fs` SonicBoom writes through (the same object its `require('fs')` gets). */
const fsModule = createRequire(import.meta.url)('node:fs') as { writeSync: typeof Fs.writeSync };

/**
 * Makes `stream.flushSync` drop what is left when fd 1's reader is gone. SonicBoom's flushSync sleeps and retries
 * every failed write, EPIPE included, forever: a line still buffered at exit after the reader of fd 1 died (the
 * parent that piped it exited, `| head`) would keep the process from ever exiting. Its asynchronous writes meet
 * EPIPE as an error, on which pino stops writing; this is the same for the synchronous flush.
 */
function flushDroppingOnBrokenPipe(stream: { flushSync?: () => void }): void {
  const flush = stream.flushSync;
  if (typeof flush !== 'function') return;
  stream.flushSync = function flushSync(this: unknown): void {
    const writeSync = fsModule.writeSync;
    // The flush is synchronous: nothing else in this thread writes through fs while it runs.
    fsModule.writeSync = function writeOrDrop(fd: number, data: string | NodeJS.ArrayBufferView, ...rest: unknown[]): number {
      try {
        return (writeSync as (...args: unknown[]) => number)(fd, data, ...rest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
        return typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength; // "written": nobody reads it
      }
    } as typeof Fs.writeSync;
    try {
      flush.call(this);
    } finally {
      fsModule.writeSync = writeSync;
    }
  };
}

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
    flushDroppingOnBrokenPipe(dest);
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
