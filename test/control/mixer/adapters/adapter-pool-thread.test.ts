// Handlers as the control plane's adapter pool runs them: params validated on
// the main thread, structured-cloned to a worker thread, and the handler
// created and called there from the compiled registry (dist/; `npx tsc -p .`
// first, as npm test does).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { adapterByName } from '../../../../control/mixer/adapter-registry.js';

const REGISTRY = fileURLToPath(new URL('../../../../dist/control/mixer/adapter-registry.js', import.meta.url));

function inWorker(adapter: string, params: unknown, call: string): Promise<unknown> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.registry).then(async ({ adapterByName }) => {
      const log = { info() {}, warn() {}, error() {} };
      const handler = adapterByName(workerData.adapter).createHandler(workerData.params, { handlerName: 'h.pool', log });
      const result = await (${call})(handler);
      await handler.close();
      parentPort.postMessage(result);
    }).catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
  `;
  return new Promise((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { registry: pathToFileURL(REGISTRY).href, adapter, params } });
    worker.once('message', (m) => {
      void worker.terminate();
      resolve(m);
    });
    worker.once('error', reject);
  });
}

describe('adapters in a pool thread', () => {
  it('the compiled registry is built', () => {
    expect(existsSync(REGISTRY), 'run npx tsc -p . first').toBe(true);
  });

  it('a list handler made from cloned params answers a check in a worker thread', async () => {
    const params = adapterByName('list')!.parseParams({ entryType: 'REGEX', overrides: ['^/admin'], blacklist: true });
    const result = await inWorker('list', params, `(h) => h.check([{ name: 'p.default', template: 'listentry', fields: { value: '/admin/users' } }])`);
    expect(result).toMatchObject({ code: 7, message: '/admin/users is blacklisted' });
  });

  it('a prometheus handler reports and exposes text in a worker thread', async () => {
    const params = adapterByName('prometheus')!.parseParams({ metrics: [{ name: 'hits_total', instance_name: 'hits.default', kind: 'COUNTER', label_names: ['code'] }] });
    const text = await inWorker(
      'prometheus',
      params,
      `(h) => { h.report([{ name: 'hits.default', template: 'metric', fields: { value: 2, dimensions: { code: 200 } } }]); return h.metricsText(); }`,
    );
    expect(text).toContain('istio_hits_total{code="200"} 2');
  });
});
