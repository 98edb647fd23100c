// Istio's `statsd` adapter: metric instances sent to a StatsD server over UDP,
// batched into packets of at most flushBytes (lines joined by '\n'), sent when
// a packet is full or every flushDuration. The name of each stat is the
// metric's nameTemplate filled from its dimensions (Go's {{.label}} form),
// after `prefix.`. What waits to be sent is bounded (MAX_PENDING_PACKETS): past
// it lines are dropped and counted, so a slow or absent network never grows
// memory; UDP has no back channel, so loss after sending is not seen.
import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { AdapterParamError, type Adapter, type AdapterHandler, type HandlerContext, type InstanceValue } from '../adapter.js';
import { readDurationMs, readEnum, readHostPort, readMapEntries, readNumber, readObject, readString } from './adapter-params.js';
import { fieldMap, valueNumber, valueString } from './instance-fields.js';
import { escapeLabelValue } from './prometheus.js';

export const MAX_PENDING_PACKETS = 64;

export type StatsdType = 'COUNTER' | 'GAUGE' | 'DISTRIBUTION';
const TYPE_SUFFIX: Readonly<Record<StatsdType, string>> = { COUNTER: 'c', GAUGE: 'g', DISTRIBUTION: 'ms' };

export interface StatsdMetric {
  readonly type: StatsdType;
  /** The template split into literal text (even indexes) and label names (odd indexes). */
  readonly template: readonly string[];
}

export interface StatsdParams {
  readonly host: string;
  readonly port: number;
  readonly prefix: string;
  readonly flushDurationMs: number;
  readonly flushBytes: number;
  readonly samplingRate: number;
  readonly metrics: Readonly<Record<string, StatsdMetric>>;
}

/** Takes a nameTemplate ("{{.apiMethod}}-{{.responseCode}}"); returns its parts, or null when it uses more than {{.label}}. */
export function splitNameTemplate(template: string): string[] | null {
  const parts: string[] = [];
  const action = /\{\{\s*\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g;
  let last = 0;
  for (let m = action.exec(template); m !== null; m = action.exec(template)) {
    parts.push(template.slice(last, m.index), m[1]);
    last = action.lastIndex;
  }
  parts.push(template.slice(last));
  return parts.some((p, i) => i % 2 === 0 && (p.includes('{{') || p.includes('}}'))) ? null : parts;
}

export function parseStatsdParams(raw: unknown): StatsdParams {
  const p = readObject(raw, '', ['address', 'prefix', 'flushDuration', 'flushBytes', 'samplingRate', 'metrics']);
  const { host, port } = readHostPort(p, 'address', '', 'localhost:8125');
  const metrics: Record<string, StatsdMetric> = Object.create(null) as Record<string, StatsdMetric>;
  for (const [name, value] of readMapEntries(p, 'metrics', '', 1000)) {
    const path = `metrics.${name}`;
    const info = readObject(value, path, ['type', 'nameTemplate']);
    const type = readEnum(info, 'type', path, ['UNKNOWN', 'COUNTER', 'GAUGE', 'DISTRIBUTION'] as const, 'UNKNOWN');
    if (type === 'UNKNOWN') throw new AdapterParamError(`${path}.type`, `${path}.type is required: COUNTER, GAUGE or DISTRIBUTION`);
    const nameTemplate = readString(info, 'nameTemplate', path, '');
    const template = nameTemplate === '' ? [name] : splitNameTemplate(nameTemplate);
    if (template === null) throw new AdapterParamError(`${path}.nameTemplate`, `${path}.nameTemplate "${nameTemplate}" may only use {{.label}} actions (e.g. "{{.apiMethod}}-{{.responseCode}}")`);
    metrics[name] = { type, template };
  }
  return {
    host,
    port,
    prefix: readString(p, 'prefix', '', ''),
    flushDurationMs: readDurationMs(p, 'flushDuration', '', 300, 1),
    flushBytes: readNumber(p, 'flushBytes', '', 512, { min: 64, max: 65_000, integer: true }),
    samplingRate: readNumber(p, 'samplingRate', '', 1, { min: 0, max: 1 }),
    metrics,
  };
}

/** StatsD separates name, value, type and rate with ':', '|' and '@'; a dimension value must not inject them. */
function safeName(text: string): string {
  return text.replace(/[:|@\n\r\s]/g, '_');
}

class StatsdHandler implements AdapterHandler {
  private readonly socket: Socket;
  private readonly packets: Buffer[] = [];
  private current = '';
  private readonly timer: NodeJS.Timeout;
  private inFlight = 0;
  private dropped = 0;

  constructor(private readonly params: StatsdParams, private readonly context: HandlerContext, private readonly random: () => number) {
    this.socket = createSocket(isIP(params.host) === 6 ? 'udp6' : 'udp4');
    this.socket.on('error', (err) => this.context.log.warn({ handler: context.handlerName, err: err.message }, 'statsd socket error'));
    this.socket.unref();
    this.timer = setInterval(() => this.flush(), params.flushDurationMs).unref();
  }

  report(instances: readonly InstanceValue[]): void {
    for (const instance of instances) {
      const metric = this.params.metrics[instance.name];
      const value = valueNumber(instance.fields.value);
      if (metric === undefined || value === undefined) continue;
      const { samplingRate } = this.params;
      if (samplingRate < 1 && this.random() >= samplingRate) continue;
      const dimensions = fieldMap(instance, 'dimensions');
      let name = '';
      metric.template.forEach((part, i) => (name += i % 2 === 0 ? part : valueString(dimensions[part])));
      name = safeName(this.params.prefix === '' ? name : `${this.params.prefix}.${name}`);
      this.append(`${name}:${value}|${TYPE_SUFFIX[metric.type]}${samplingRate < 1 ? `|@${samplingRate}` : ''}`);
    }
  }

  private append(line: string): void {
    const joined = this.current === '' ? line : `${this.current}\n${line}`;
    if (Buffer.byteLength(joined) <= this.params.flushBytes) {
      this.current = joined;
      return;
    }
    this.seal();
    if (Buffer.byteLength(line) > this.params.flushBytes) {
      this.dropped++; // a single line larger than a packet cannot be sent
      return;
    }
    this.current = line;
  }

  /** Moves the packet being filled to the send queue (bounded) and sends what is queued. */
  private seal(): void {
    if (this.current === '') return;
    if (this.packets.length >= MAX_PENDING_PACKETS) this.dropped += this.current.split('\n').length;
    else this.packets.push(Buffer.from(this.current));
    this.current = '';
    this.send();
  }

  private send(): void {
    while (this.packets.length > 0 && this.inFlight < MAX_PENDING_PACKETS) {
      const packet = this.packets.shift()!;
      this.inFlight++;
      this.socket.send(packet, this.params.port, this.params.host, (err) => {
        this.inFlight--;
        if (err) this.dropped += packet.toString().split('\n').length;
      });
    }
  }

  /** Sends the partly filled packet now (the flushDuration timer calls it). */
  flush(): void {
    this.seal();
  }

  /** Lines dropped because the send queue was full, a line was larger than flushBytes, or a send failed. */
  get droppedLines(): number {
    return this.dropped;
  }

  metricsText(): string {
    return [
      '# HELP isthmus_mixer_statsd_dropped_lines_total StatsD lines dropped: send queue full, line over flushBytes, or send failed.',
      '# TYPE isthmus_mixer_statsd_dropped_lines_total counter',
      `isthmus_mixer_statsd_dropped_lines_total{handler="${escapeLabelValue(this.context.handlerName)}"} ${this.dropped}`,
      '',
    ].join('\n');
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
    // let the queued packets leave before the socket closes
    const closeWhenSent = (): void => {
      if (this.inFlight === 0) this.socket.close();
      else setTimeout(closeWhenSent, 10).unref();
    };
    closeWhenSent();
  }
}

/** Takes validated params, a context and a random source (sampling); returns a statsd handler. */
export function createStatsdHandler(params: StatsdParams, context: HandlerContext, random: () => number = Math.random): AdapterHandler {
  return new StatsdHandler(params, context, random);
}

export const statsdAdapter: Adapter = {
  name: 'statsd',
  templates: ['metric'],
  parseParams: parseStatsdParams,
  createHandler: (params, context) => createStatsdHandler(params as StatsdParams, context),
};
