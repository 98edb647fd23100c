// The stdio adapter through its handler: log entries written through pino to
// a file, as JSON records with Istio's severity mapping and outputLevel, and in
// pino-pretty's console form.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adapterByName } from '../../../../control/mixer/adapter-registry.js';
import { instance, testContext } from './handler-context.js';

const stdio = adapterByName('stdio')!;
const dir = mkdtempSync(join(tmpdir(), 'isthmus-stdio-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function entry(severity: string, variables: Record<string, unknown>, timestamp = Date.UTC(2026, 11, 6, 12, 0, 0)) {
  return instance('accesslog.logentry.istio-system', 'logentry', { severity, timestamp, variables });
}

describe('stdio adapter', () => {
  it('writes log entries as JSON lines to a file, mapping severities and dropping those under outputLevel', async () => {
    const outputPath = join(dir, 'sub', 'access.log');
    const handler = stdio.createHandler(stdio.parseParams({ logStream: 'FILE', outputPath, outputLevel: 'WARNING', severityLevels: { notice: 'WARNING' } }), testContext());
    await handler.report!([
      entry('Info', { path: '/quiet' }),
      entry('WARN', { path: '/warned', code: 429, sourceIp: new Uint8Array([10, 0, 0, 7]), headers: { 'x-user': 'ann' } }),
      entry('notice', { path: '/noticed' }),
      entry('fatal', { path: '/broken', latency: 12.5 }),
    ]);
    await handler.close();
    const records = readFileSync(outputPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.map((r) => [r.level, r.path])).toEqual([
      ['warn', '/warned'],
      ['warn', '/noticed'],
      ['error', '/broken'],
    ]);
    expect(records[0]).toEqual({
      level: 'warn',
      time: '2026-12-06T12:00:00.000Z',
      instance: 'accesslog.logentry.istio-system',
      path: '/warned',
      code: 429,
      sourceIp: '10.0.0.7',
      headers: { 'x-user': 'ann' },
    });
  });

  it('writes metric instances at metricLevel, and a console form when outputAsJson is false', async () => {
    const outputPath = join(dir, 'pretty.log');
    const handler = stdio.createHandler(stdio.parseParams({ logStream: 'FILE', outputPath, outputAsJson: false, metricLevel: 'ERROR' }), testContext());
    await handler.report!([
      entry('info', { path: '/pretty-path' }),
      instance('requestcount.metric.istio-system', 'metric', { value: 3, dimensions: { code: 200 } }),
    ]);
    await handler.close();
    const text = readFileSync(outputPath, 'utf8');
    expect(text).toMatch(/INFO.*\n(.*\n)*.*path: "\/pretty-path"/);
    expect(text).toMatch(/ERROR/);
    expect(text).toMatch(/instance: "requestcount\.metric\.istio-system"/);
    expect(() => JSON.parse(text.split('\n')[0])).toThrow();
  });
});
