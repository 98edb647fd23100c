// One adapter pool thread (a piscina worker): it holds the live handlers the
// pool pinned to it, made by their adapters from validated params, and runs
// their check / quota / report. A handler that throws answers an error, never
// takes the thread down; a thread restarted after a crash answers `missing`
// until the pool configures it again.
import { workerData } from 'node:worker_threads';
import type { AdapterHandler, HandlerContext } from './adapter.js';
import type { HandlerSpec, PoolAnswer, PoolTask, PoolWorkerData } from './adapter-pool-protocol.js';
import { adapterByName } from './adapter-registry.js';
import { loadPluginAdapters } from './plugin-adapters.js';
import { mergeMetricsTexts } from './adapters/metrics-text.js';
import { createLogger } from '../../src/log.js';
import { unpackRows } from './report-rows.js';

interface LiveHandler {
  readonly fingerprint: string;
  readonly handler: AdapterHandler;
}

const handlers = new Map<string, LiveHandler>();
const data = workerData as PoolWorkerData | undefined;
const log = createLogger('isthmus-control', data?.logLevel ?? 'info').child({ component: 'mixer-adapter' });
const ready = loadPluginAdapters(data?.plugins ?? []);

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function closeQuietly(name: string, live: LiveHandler): Promise<void> {
  try {
    await live.handler.close();
  } catch (err) {
    log.warn({ handler: name, err: message(err) }, 'policy handler close failed');
  }
}

async function configure(specs: readonly HandlerSpec[]): Promise<PoolAnswer> {
  const wanted = new Map(specs.map((s) => [s.name, s]));
  for (const [name, live] of handlers) {
    const spec = wanted.get(name);
    if (spec === undefined || spec.fingerprint !== live.fingerprint) {
      handlers.delete(name);
      await closeQuietly(name, live);
    }
  }
  const failures: { name: string; error: string }[] = [];
  for (const spec of specs) {
    if (handlers.has(spec.name)) continue; // unchanged: keeps its state (memquota counters)
    const adapter = adapterByName(spec.adapter);
    if (adapter === undefined) {
      failures.push({ name: spec.name, error: `no adapter named ${spec.adapter}` });
      continue;
    }
    const context: HandlerContext = { handlerName: spec.name, log: log.child({ handler: spec.name }) };
    try {
      handlers.set(spec.name, { fingerprint: spec.fingerprint, handler: adapter.createHandler(spec.params, context) });
    } catch (err) {
      failures.push({ name: spec.name, error: message(err) });
    }
  }
  return { kind: 'configured', failures };
}

function metricsText(): string {
  const texts: string[] = [];
  for (const [name, live] of handlers) {
    if (live.handler.metricsText === undefined) continue;
    try {
      texts.push(live.handler.metricsText());
    } catch (err) {
      log.warn({ handler: name, err: message(err) }, 'policy handler metrics failed');
    }
  }
  return mergeMetricsTexts(texts);
}

/** takes one pool task; returns its answer (piscina's task function). */
export default async function runTask(task: PoolTask): Promise<PoolAnswer> {
  await ready;
  if (task.op === 'configure') return configure(task.specs);
  if (task.op === 'metrics') return { kind: 'metrics', text: metricsText() };
  const live = handlers.get(task.handler);
  if (live === undefined) return { kind: 'missing' };
  const handler = live.handler;
  try {
    switch (task.op) {
      case 'check':
        if (handler.check === undefined) return { kind: 'error', error: `handler ${task.handler} does not answer checks` };
        return { kind: 'check', result: await handler.check(task.instances) };
      case 'quota':
        if (handler.quota === undefined) return { kind: 'error', error: `handler ${task.handler} does not answer quotas` };
        return { kind: 'quota', result: await handler.quota(task.instance, task.args) };
      case 'report':
        if (handler.report !== undefined) await handler.report(task.instances);
        return { kind: 'reported' };
      case 'reportRows':
        if (handler.report !== undefined) await handler.report(unpackRows(task.batch));
        return { kind: 'reported' };
    }
  } catch (err) {
    return { kind: 'error', error: message(err) };
  }
}
