// Istio's `stdio` adapter: logentry instances (and metric instances, at
// metricLevel) written as log records through pino to the control plane's
// stdout, stderr or a file, as JSON (outputAsJson, the default) or in
// pino-pretty's console form. Writes are synchronous: nothing is buffered in
// memory, and the handler runs on an adapter pool thread, so a slow disk
// delays that thread only.
import { isAbsolute } from 'node:path';
import pino, { type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { AdapterParamError, type Adapter, type AdapterHandler, type InstanceValue } from '../adapter.js';
import { readBool, readEnum, readMapEntries, readObject, readString } from './adapter-params.js';
import { fieldMap, jsonValue, valueString } from './instance-fields.js';

type StdioLevel = 'INFO' | 'WARNING' | 'ERROR';
const LEVELS: readonly StdioLevel[] = ['INFO', 'WARNING', 'ERROR'];
const PINO_LEVEL: Readonly<Record<StdioLevel, 'info' | 'warn' | 'error'>> = { INFO: 'info', WARNING: 'warn', ERROR: 'error' };

/** Istio's default severity map (a logentry's severity text -> level); params.severityLevels adds to it. */
const DEFAULT_SEVERITIES: Readonly<Record<string, StdioLevel>> = {
  INFORMATIONAL: 'INFO', informational: 'INFO', INFO: 'INFO', info: 'INFO',
  WARNING: 'WARNING', warning: 'WARNING', WARN: 'WARNING', warn: 'WARNING',
  ERROR: 'ERROR', error: 'ERROR', ERR: 'ERROR', err: 'ERROR', FATAL: 'ERROR', fatal: 'ERROR',
};

export interface StdioParams {
  readonly logStream: 'STDOUT' | 'STDERR' | 'FILE';
  readonly severityLevels: Readonly<Record<string, StdioLevel>>;
  readonly metricLevel: StdioLevel;
  readonly outputAsJson: boolean;
  readonly outputLevel: StdioLevel;
  readonly outputPath: string;
}

export function parseStdioParams(raw: unknown): StdioParams {
  const p = readObject(raw, '', [
    'logStream', 'severityLevels', 'metricLevel', 'outputAsJson', 'outputLevel', 'outputPath',
    'maxMegabytesBeforeRotation', 'maxDaysBeforeRotation', 'maxRotatedFiles',
  ]);
  const stream = readString(p, 'logStream', '', 'STDOUT');
  if (stream === 'ROTATED_FILE') throw new AdapterParamError('logStream', 'logStream ROTATED_FILE is not supported by Isthmus: use FILE and rotate with logrotate (copytruncate)');
  const logStream = readEnum(p, 'logStream', '', ['STDOUT', 'STDERR', 'FILE'] as const, 'STDOUT');
  const outputPath = readString(p, 'outputPath', '', '');
  if (logStream === 'FILE' && !isAbsolute(outputPath)) throw new AdapterParamError('outputPath', `outputPath must be an absolute file path when logStream is FILE${outputPath === '' ? '' : `, not "${outputPath}"`}`);
  const severityLevels: Record<string, StdioLevel> = { ...DEFAULT_SEVERITIES };
  for (const [severity, level] of readMapEntries(p, 'severityLevels', '', 256)) {
    if (typeof level !== 'string' || !(LEVELS as readonly string[]).includes(level)) {
      throw new AdapterParamError(`severityLevels.${severity}`, `severityLevels.${severity} must be one of ${LEVELS.join(', ')}, not ${JSON.stringify(level)}`);
    }
    severityLevels[severity] = level as StdioLevel;
  }
  return {
    logStream,
    severityLevels,
    metricLevel: readEnum(p, 'metricLevel', '', LEVELS, 'INFO'),
    outputAsJson: readBool(p, 'outputAsJson', '', true),
    outputLevel: readEnum(p, 'outputLevel', '', LEVELS, 'INFO'),
    outputPath,
  };
}

type SonicBoom = ReturnType<typeof pino.destination>;

/** Characters gathered before they are written even mid-batch: a batch of huge lines holds at most about this much. */
const MAX_PENDING_CHARS = 1 << 20;

/** The lines pino made during one report batch, written out at its end with one call (sync: a string, never a queue). */
class BatchedLines implements DestinationStream {
  private pending = '';

  constructor(private readonly out: SonicBoom) {}

  write(line: string): void {
    this.pending += line;
    if (this.pending.length >= MAX_PENDING_CHARS) this.flush();
  }

  /** Writes what the batch made (SonicBoom's sync write: retries EAGAIN on a non-blocking stdout). */
  flush(): void {
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.out.write(text);
  }
}

const loggerOptions = (params: StdioParams) => ({ level: PINO_LEVEL[params.outputLevel], base: null, timestamp: false, formatters: { level: (label: string) => ({ level: label }) } });

/** Date.toISOString for a batch's timestamps: the text up to the second is made once per second, not per record. */
class IsoTimes {
  private second = Number.NaN;
  /** "YYYY-MM-DDTHH:MM:SS." of `second`. */
  private prefix = '';

  iso(ms: number): string {
    // Whole milliseconds in years 0000-9999 (the 24-character form); anything else as Date has it (a RangeError included).
    if (!Number.isInteger(ms) || ms < -62_167_219_200_000 || ms >= 253_402_300_800_000) return new Date(ms).toISOString();
    const second = Math.floor(ms / 1000);
    const milli = ms - second * 1000;
    if (second !== this.second) {
      const text = new Date(ms).toISOString();
      this.second = second;
      this.prefix = text.slice(0, 20);
      return text;
    }
    return this.prefix + (milli < 10 ? `00${milli}Z` : milli < 100 ? `0${milli}Z` : `${milli}Z`);
  }
}

class StdioHandler implements AdapterHandler {
  private readonly logger: Logger;
  private readonly time = new IsoTimes();
  /** JSON output: the batch's lines (null: pino-pretty writes each record itself). */
  private readonly lines: BatchedLines | null = null;
  private readonly out: SonicBoom | null = null;

  constructor(private readonly params: StdioParams) {
    const dest = params.logStream === 'FILE' ? params.outputPath : params.logStream === 'STDERR' ? 2 : 1;
    if (!params.outputAsJson) {
      this.logger = pino(loggerOptions(params), pinoPretty({ destination: dest, sync: true, colorize: false, mkdir: true }));
      return;
    }
    this.out = pino.destination({ dest, sync: true, mkdir: true });
    this.lines = new BatchedLines(this.out);
    this.logger = pino(loggerOptions(params), this.lines);
  }

  report(instances: readonly InstanceValue[]): void {
    try {
      for (const instance of instances) {
        if (instance.template === 'logentry') this.writeLogEntry(instance);
        else if (instance.template === 'metric') this.writeMetric(instance);
      }
    } finally {
      this.lines?.flush();
    }
  }

  private writeLogEntry(instance: InstanceValue): void {
    const severity = valueString(instance.fields.severity);
    const level = PINO_LEVEL[this.params.severityLevels[severity] ?? 'INFO'];
    const timestamp = instance.fields.timestamp;
    const record: Record<string, unknown> = {
      time: typeof timestamp === 'number' ? this.time.iso(timestamp) : new Date().toISOString(),
      instance: instance.name,
    };
    const variables = fieldMap(instance, 'variables');
    for (const name of Object.keys(variables)) record[name] = jsonValue(variables[name]);
    this.logger[level](record);
  }

  private writeMetric(instance: InstanceValue): void {
    const record: Record<string, unknown> = { time: new Date().toISOString(), instance: instance.name, value: jsonValue(instance.fields.value) };
    for (const [name, value] of Object.entries(fieldMap(instance, 'dimensions'))) record[name] = jsonValue(value);
    this.logger[PINO_LEVEL[this.params.metricLevel]](record);
  }

  close(): void {
    this.lines?.flush();
    if (this.out === null) this.logger.flush();
    // The file is closed with the handler (a reload makes a new one); stdout and stderr stay open.
    else if (this.params.logStream === 'FILE') this.out.end();
  }
}

export const stdioAdapter: Adapter = {
  name: 'stdio',
  templates: ['logentry', 'metric'],
  parseParams: parseStdioParams,
  createHandler: (params) => new StdioHandler(params as StdioParams),
};
