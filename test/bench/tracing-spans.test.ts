// `isthmus bench tracing`'s CPU rounds measure what they say: with the bench's own targets (real proxies, the
// bench upstream, the span sink collector in its own process), the 1% row's collector receives about 1% of the
// requests as spans and the 100% row's one span per request, counted at the collector; and a row that claims 1%
// but runs an untraced proxy is reported invalid rather than measured.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const root = join(import.meta.dirname, '..', '..');
type Scenarios = typeof import('../../bench/scenarios.js');
type TracingCpu = typeof import('../../bench/tracing-cpu.js');

const stops: (() => Promise<unknown>)[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'tracing-spans-'));
afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
});

describe('bench tracing CPU rounds', () => {
  it('sends spans at ~1% and 100% as the collector counts them, and marks an untraced row invalid', async () => {
    // The compiled files: the span sink and the proxies are child processes of them.
    const { LOAD_TARGETS, startUpstream } = (await import(join(root, 'dist', 'bench', 'scenarios.js'))) as Scenarios;
    const { runTracingCpu } = (await import(join(root, 'dist', 'bench', 'tracing-cpu.js'))) as TracingCpu;
    const upstream = await startUpstream();
    stops.push(() => upstream.stop());
    const started = new Map<string, Awaited<ReturnType<Scenarios['LOAD_TARGETS'][number]['start']>>>();
    for (const id of ['tracing-off', 'tracing-1', 'tracing-100']) {
      const running = await LOAD_TARGETS.find((t) => t.id === id)!.start({ upstreamPort: upstream.ready!, dir: join(tmp, id) });
      stops.push(() => running.stop());
      started.set(id, running);
    }
    const target = (id: string, percent: number | null, label: string, build = 'isthmus') => {
      const r = started.get(id)!;
      return { label, build, percent, pid: r.pids[0]!, port: r.port, sink: r.spanSink ?? null };
    };
    const off = target('tracing-off', null, 'off');
    // The untraced proxy posing as a 1% row, with the real 1% row's collector (which gets nothing from it).
    const posing = { ...off, label: 'posing 1%', build: 'posing', percent: 1, sink: started.get('tracing-1')!.spanSink! };
    const rounds = 2;
    const requests = 4000;
    const report = await runTracingCpu(
      [off, target('tracing-1', 1, '1%'), target('tracing-100', 100, '100%'), posing, { ...off, label: 'posing off', build: 'posing' }, { ...off, label: 'off again', control: true }],
      { rounds, requests, connections: 8, helperPids: [], pin: false, warmupRequests: 500 },
      () => {},
    );
    const row = (label: string) => report.rows.find((r) => r.label === label)!;
    const total = rounds * requests;
    expect(row('off').spans).toBeNull();
    // 100%: one SERVER span per request (no spawn_upstream_span in the bench config), none dropped.
    expect(row('100%').spans).toBe(total);
    // 1% of 8000: 80 expected; a wide binomial band, but never 0 and never all.
    expect(row('1%').spans).toBeGreaterThan(30);
    expect(row('1%').spans).toBeLessThan(160);
    expect(row('1%').span_problem).toBeNull();
    expect(row('posing 1%').spans).toBe(0);
    expect(row('posing 1%').span_problem).toMatch(/received 0 spans for 8000 requests at 1% sampling/);
    const ratio = (build: string, percent: number) => report.ratios.find((r) => r.build === build && r.percent === percent)!;
    expect(ratio('posing', 1).verdict).toBe('invalid');
    expect(['met', 'not met', 'unsettled']).toContain(ratio('isthmus', 1).verdict);
    expect(['met', 'not met', 'unsettled']).toContain(ratio('isthmus', 100).verdict);
    // The A/A control (here the same proxy measured twice per round): one ratio, for the build it controls.
    expect(report.control.map((c) => c.build)).toEqual(['isthmus']);
    expect(report.control[0]!.ratio.median).toBeGreaterThan(0.5);
    expect(report.control[0]!.ratio.median).toBeLessThan(2);
    for (const r of report.rows) {
      expect(r.cpu_us.median).toBeGreaterThan(0);
      expect(r.requests).toBe(total);
    }
  }, 180_000);

  it('counts the same through its Node client (no h2load installed), rows together', async () => {
    const { LOAD_TARGETS, startUpstream } = (await import(join(root, 'dist', 'bench', 'scenarios.js'))) as Scenarios;
    const { runTracingCpu } = (await import(join(root, 'dist', 'bench', 'tracing-cpu.js'))) as TracingCpu;
    const upstream = await startUpstream();
    stops.push(() => upstream.stop());
    const traced = await LOAD_TARGETS.find((t) => t.id === 'tracing-100')!.start({ upstreamPort: upstream.ready!, dir: join(tmp, 'node-client') });
    stops.push(() => traced.stop());
    const on = { label: '100%', build: 'isthmus', percent: 100, pid: traced.pids[0]!, port: traced.port, sink: traced.spanSink! };
    const report = await runTracingCpu([on], { rounds: 1, requests: 3000, connections: 8, helperPids: [], pin: false, warmupRequests: 200, nodeClient: true, together: true }, () => {});
    expect(report.client).toBe('a Node client');
    expect(report.mode).toBe('together');
    expect(report.rows[0]!.spans).toBe(3000);
    expect(report.rows[0]!.span_problem).toBeNull();
  }, 120_000);
});
