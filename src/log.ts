// Logging for every role and thread: pino JSON lines on fd 1, written
// asynchronously so a log line never blocks an event loop. Worker threads
// must not log through process.stdout (it is proxied to the main thread), so
// every thread opens its own SonicBoom on the raw fd.
import pino, { type Logger } from 'pino';
import { isLogLevel } from './log-levels.js';

export type { Logger } from 'pino';

export { LOG_LEVELS, isLogLevel } from './log-levels.js';

let destination: ReturnType<typeof pino.destination> | undefined;

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

/** Flushes buffered log lines now (call before process.exit()). */
export function flushLogs(): void {
  try {
    destination?.flushSync();
  } catch {
    // see above
  }
}


/** Creates a named logger; `level` defaults to ISTHMUS_LOG_LEVEL or 'info'. */
export function createLogger(name: string, level?: string): Logger {
  const wanted = level ?? process.env.ISTHMUS_LOG_LEVEL ?? 'info';
  return pino(
    {
      name,
      level: isLogLevel(wanted) ? wanted : 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stdoutDestination(),
  );
}
