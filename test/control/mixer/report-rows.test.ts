// A Report batch for a handler on the adapter pool travels as rows
// (report-rows.ts): the pool thread must rebuild exactly the instances the
// dispatcher used to send as objects, structured clone and all, with every
// attribute type, constants, nested maps, absent values and valueTypes, in
// field order; and through a real pool a stdio handler writes the same lines
// either way.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileExpression } from '../../../src/policy/expression.js';
import { createLogger } from '../../../src/log.js';
import type { AttributeValue } from '../../../src/policy/attribute-value.js';
import { MapAttributeBag } from '../../../control/mixer/attribute-message.js';
import { AdapterPool } from '../../../control/mixer/adapter-pool.js';
import { adapterByName } from '../../../control/mixer/adapter-registry.js';
import { buildInstance, RuleDispatcher, type DispatchInstance, type FieldNode } from '../../../control/mixer/rule-dispatch.js';
import { ReportRowsBuilder, unpackRows } from '../../../control/mixer/report-rows.js';

const dir = mkdtempSync(join(tmpdir(), 'isthmus-report-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ex = (text: string): FieldNode => ({ kind: 'expression', expression: compileExpression(text) });
const map = (fields: [string, FieldNode][]): FieldNode => ({ kind: 'map', fields: new Map(fields) });
const headers = (h: Record<string, string>): AttributeValue => Object.assign(Object.create(null) as Record<string, string>, h);

const LOG: DispatchInstance = {
  name: 'accesslog.istio-system', template: 'logentry',
  fields: new Map<string, FieldNode>([
    ['severity', ex('conditional(response.code >= 500, "Error", "Info")')],
    ['timestamp', ex('request.time')],
    ['variables', map([
      ['path', ex('request.path | ""')], ['latency', ex('response.duration | duration("0s")')], ['ip', ex('source.ip')],
      ['ratio', ex('request.size')], ['tls', ex('connection.mtls')], ['agent', ex('request.headers["user-agent"]')],
      ['all', ex('request.headers')], ['absent', ex('request.referer')], ['fixed', { kind: 'constant', value: 'v1' }],
      ['empty', map([])], ['deep', map([['code', ex('response.code')], ['__proto__', { kind: 'constant', value: 7 }]])],
    ])],
  ]),
  valueTypes: { timestamp: 'TIMESTAMP', 'variables.latency': 'DURATION' },
};
const METRIC: DispatchInstance = {
  name: 'requestcount.istio-system', template: 'metric',
  fields: new Map<string, FieldNode>([['value', { kind: 'constant', value: 1 }], ['dimensions', map([['code', ex('response.code | 0')], ['method', ex('request.method | "unknown"')]])]]),
};

function bag(i: number): MapAttributeBag {
  const values = new Map<string, AttributeValue>([
    ['request.time', 1_796_651_907_658 + i], ['request.method', i % 2 === 0 ? 'GET' : 'POST'], ['response.code', i % 3 === 0 ? 503 : 200],
    ['request.size', i + 0.5], ['connection.mtls', i % 2 === 1], ['request.headers', headers({ 'user-agent': `curl/${i}`, 'x-n': String(i) })],
  ]);
  if (i % 4 !== 3) values.set('request.path', `/items/${i}`);
  if (i % 5 !== 4) values.set('response.duration', 403.5 + i);
  if (i % 2 === 0) values.set('source.ip', Buffer.from([10, 0, 0, i]));
  return new MapAttributeBag(values);
}

/** An object's entries in order, recursively (toEqual ignores key order; field order is what a log line shows). */
function ordered(x: unknown): unknown {
  if (x instanceof Uint8Array) return ['bytes', [...x]];
  if (typeof x !== 'object' || x === null) return x;
  return Object.getOwnPropertyNames(x).map((k) => [k, ordered((x as Record<string, unknown>)[k])]);
}

describe('report rows', () => {
  it('unpack to the structured clone of what buildInstance makes, for every attribute type, in field order', () => {
    const rows = new ReportRowsBuilder();
    const expected: unknown[] = [];
    for (let i = 0; i < 12; i++) {
      for (const instance of [LOG, METRIC]) {
        rows.add(instance, bag(i));
        expected.push(buildInstance(instance, bag(i)));
      }
    }
    const unpacked = unpackRows(structuredClone({ shapes: rows.shapes, rows: rows.rows }));
    expect(ordered(unpacked)).toEqual(ordered(structuredClone(expected)));
    expect(unpacked).toEqual(structuredClone(expected));
  });

  it('refuse rows that do not fit their shapes', () => {
    const rows = new ReportRowsBuilder();
    rows.add(METRIC, bag(0));
    expect(() => unpackRows({ shapes: rows.shapes, rows: [...rows.rows, 0, 1] })).toThrow(RangeError);
    expect(() => unpackRows({ shapes: rows.shapes, rows: [5] })).toThrow(RangeError);
  });

  it('a stdio handler on the pool writes the same lines from a dispatched batch as from its instances', { timeout: 30_000 }, async () => {
    const pool = new AdapterPool({ threads: 1, log: createLogger('test', 'silent') });
    try {
      const paths = ['rows.log', 'objects.log'].map((f) => join(dir, f));
      await pool.configure(paths.map((outputPath, i) => ({ name: `console${i}`, adapter: 'stdio', params: adapterByName('stdio')!.parseParams({ logStream: 'FILE', outputPath }), fingerprint: String(i) })));
      const bags = Array.from({ length: 40 }, (_, i) => bag(i));
      const dispatcher = new RuleDispatcher([{ name: 'r', match: compileExpression('request.method != ""'), actions: [{ handler: 'console0', instances: [LOG, METRIC] }] }], pool);
      expect(dispatcher.report(bags)).toBe(0);
      expect(pool.report('console1', bags.flatMap((b) => [buildInstance(LOG, b), buildInstance(METRIC, b)]))).toBe(true);
      await pool.refreshMetrics(); // a task after the reports on the same lane: they are done
      const [rows, objects] = paths.map((p) => readFileSync(p, 'utf8').split('\n').map((l) => l.replace(/"time":"[^"]*"/, '"time":T')));
      expect(rows).toHaveLength(81);
      expect(rows).toEqual(objects);
    } finally {
      await pool.close();
    }
  });
});
