// The JSON log lines every role writes, in pino's shape ({"level":30,"time":
// ISO,"pid":..,"name":..,<bindings>,<fields>,"msg":..}, an Error under `err`
// as {type, message, stack, ...}) without loading pino: pino brings
// thread-stream, worker_threads, a redactor and serializers we do not use,
// about 6 MB of RSS on the main thread and 4.6 MB in each worker isolate,
// most of a small sidecar's budget. Lines go to a SonicBoom (pino's own fd
// writer, asynchronous), so a line never blocks the event loop.

/** pino's level numbers. */
const LEVEL_VALUES: Readonly<Record<string, number>> = {
  trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity,
};

/** Where finished lines go (a SonicBoom). */
export interface LineSink {
  write(line: string): boolean;
}

export type LogMethod = (objOrMsg?: unknown, msg?: string) => void;

/** What the code base uses of a logger (pino's Logger has the same shape). */
export interface Logger {
  level: string;
  trace: LogMethod;
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
  fatal: LogMethod;
  child(bindings: Record<string, unknown>, options?: { level?: string }): Logger;
}

export class JsonLogger implements Logger {
  private levelName: string;
  private threshold: number;

  /** `bindings`: the serialized `,"k":v` pairs every line of this logger carries. */
  constructor(
    private readonly sink: LineSink,
    private readonly bindings: string,
    level: string,
    private readonly onChild: (child: JsonLogger) => void,
  ) {
    this.levelName = level;
    this.threshold = LEVEL_VALUES[level] ?? 30;
  }

  get level(): string {
    return this.levelName;
  }

  set level(name: string) {
    const value = LEVEL_VALUES[name];
    if (value === undefined) throw new Error(`unknown log level '${name}'`);
    this.levelName = name;
    this.threshold = value;
  }

  trace(objOrMsg?: unknown, msg?: string): void {
    if (this.threshold <= 10) this.write(10, objOrMsg, msg);
  }

  debug(objOrMsg?: unknown, msg?: string): void {
    if (this.threshold <= 20) this.write(20, objOrMsg, msg);
  }

  info(objOrMsg?: unknown, msg?: string): void {
    if (this.threshold <= 30) this.write(30, objOrMsg, msg);
  }

  warn(objOrMsg?: unknown, msg?: string): void {
    if (this.threshold <= 40) this.write(40, objOrMsg, msg);
  }

  error(objOrMsg?: unknown, msg?: string): void {
    if (this.threshold <= 50) this.write(50, objOrMsg, msg);
  }

  fatal(objOrMsg?: unknown, msg?: string): void {
    if (this.threshold <= 60) this.write(60, objOrMsg, msg);
  }

  child(bindings: Record<string, unknown>, options: { level?: string } = {}): JsonLogger {
    const child = new JsonLogger(this.sink, this.bindings + serializeFields(bindings), options.level ?? this.levelName, this.onChild);
    this.onChild(child);
    return child;
  }

  private write(level: number, objOrMsg: unknown, msg: string | undefined): void {
    let fields = '';
    let message = msg;
    if (typeof objOrMsg === 'string') {
      message = objOrMsg;
    } else if (objOrMsg instanceof Error) {
      fields = `,"err":${safeStringify(serializeError(objOrMsg))}`;
      message ??= objOrMsg.message;
    } else if (objOrMsg !== null && typeof objOrMsg === 'object') {
      fields = serializeFields(objOrMsg as Record<string, unknown>);
    }
    const tail = message === undefined ? '}\n' : `,"msg":${JSON.stringify(message)}}\n`;
    this.sink.write(`{"level":${level},"time":"${new Date().toISOString()}"${this.bindings}${fields}${tail}`);
  }
}

/** `,"k":v` for each own enumerable key whose value JSON can show (as JSON.stringify would keep it); `err` as pino shows an Error. */
export function serializeFields(obj: Record<string, unknown>): string {
  let out = '';
  for (const key of Object.keys(obj)) {
    let value = obj[key];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    if (key === 'err' && value instanceof Error) value = serializeError(value);
    out += `,${JSON.stringify(key)}:${safeStringify(value)}`;
  }
  return out;
}

/** pino-std-serializers' err: type, message, stack, then the error's other enumerable properties. */
function serializeError(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: typeof err.constructor === 'function' ? err.constructor.name : err.name,
    message: err.message,
    stack: err.stack,
  };
  for (const key in err) {
    if (out[key] !== undefined) continue;
    const value = (err as unknown as Record<string, unknown>)[key];
    out[key] = value instanceof Error ? serializeError(value) : value;
  }
  return out;
}

/** JSON.stringify that never throws: circular references become "[Circular]", BigInts strings. */
function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    const seen = new WeakSet<object>();
    return (
      JSON.stringify(value, (_key, v: unknown) => {
        if (typeof v === 'bigint') return v.toString();
        if (v !== null && typeof v === 'object') {
          if (seen.has(v)) return '[Circular]';
          seen.add(v);
        }
        return v;
      }) ?? 'null'
    );
  }
}
