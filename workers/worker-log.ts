// A worker thread's logger: its records go to the agent over the parent port,
// and the agent's pino writes them (as "worker-N", in the proxy's format). pino
// and its stream stack cost a worker isolate ~1.3 MB of heap (per worker:
// --workers 2 paid it twice), for the few lines a worker writes (a config it
// could not apply, a full rate-limit table). The level is the worker's, set
// from the agent (admin /logging): a record below it is never posted.
import { isLogLevel } from '../src/log-levels.js';

/** What the data plane logs through: pino's Logger on the main thread, a WorkerLog in a worker thread. */
export interface DataPlaneLog {
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export type WorkerLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** pino's level numbers. */
const LEVEL_VALUES: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

/** A log record on its way to the agent. */
export interface WorkerLogRecord {
  readonly level: WorkerLogLevel;
  /** The record's fields (an Error under `err` arrives as an Error: structured clone keeps name, message, stack). */
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

export class WorkerLog implements DataPlaneLog {
  private threshold: number;

  constructor(private readonly post: (record: WorkerLogRecord) => void, level: string) {
    this.threshold = LEVEL_VALUES[isLogLevel(level) ? level : 'info']!;
  }

  /** Takes a level name; unknown names are ignored (the agent checked it). */
  setLevel(level: string): void {
    if (isLogLevel(level)) this.threshold = LEVEL_VALUES[level]!;
  }

  info(obj: object | string, msg?: string): void {
    this.write('info', obj, msg);
  }

  warn(obj: object | string, msg?: string): void {
    this.write('warn', obj, msg);
  }

  error(obj: object | string, msg?: string): void {
    this.write('error', obj, msg);
  }

  private write(level: WorkerLogLevel, obj: object | string, msg: string | undefined): void {
    if (LEVEL_VALUES[level]! < this.threshold) return;
    const fields = typeof obj === 'string' ? {} : (obj as Record<string, unknown>);
    const text = typeof obj === 'string' ? obj : (msg ?? '');
    try {
      this.post({ level, fields, msg: text });
    } catch {
      // a field structured clone cannot copy (a function, a socket): the words still go, the fields as text
      this.post({ level, fields: { detail: safeText(fields) }, msg: text });
    }
  }
}

function safeText(fields: Record<string, unknown>): string {
  try {
    return Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  } catch {
    return '(fields not printable)';
  }
}
