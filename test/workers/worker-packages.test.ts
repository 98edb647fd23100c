// A worker thread's memory is mostly the modules it loads (each isolate has its own copy), so the data plane's
// module graph must not reach what only the agent uses: the YAML library (config files are read on the main
// thread; workers get parsed config from LMDB), pino-pretty, uWebSockets.js or gRPC. Loaded as a worker
// loads it: the compiled dist/ graph of data-plane.js in a fresh process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Takes dist/ module paths; returns the Node built-in modules (`http2`, `tls`, ...) loading them all in one fresh process loaded. */
function builtinsLoadedBy(...modules: string[]): string[] {
  const script = `
    for (const m of ${JSON.stringify(modules.map((m) => `${root}dist/${m}`))}) await import(m);
    process.stdout.write(JSON.stringify(process.moduleLoadList.filter((e) => e.startsWith('NativeModule ')).map((e) => e.slice(13))));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
}

function packagesLoadedBy(module: string): string[] {
  const script = `
    await import(${JSON.stringify(`${root}dist/${module}`)});
    const { loadedPackages } = await import(${JSON.stringify(`${root}dist/src/process/loaded-packages.js`)});
    process.stdout.write(JSON.stringify(loadedPackages()));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
}

/** Takes a worker entry in dist/; returns the packages its module graph loads in a worker thread (its own code stops at
 *  once on the missing workerData: every static import has been evaluated by then). */
function packagesLoadedInWorkerBy(module: string): string[] {
  const script = `
    const { Worker } = await import('node:worker_threads');
    const code = \`(async () => {
      const { parentPort } = await import('node:worker_threads');
      const { loadedPackages } = await import(\${JSON.stringify(${JSON.stringify(`${root}dist/src/process/loaded-packages.js`)})});
      await import(\${JSON.stringify(${JSON.stringify(`${root}dist/${module}`)})}).catch(() => {});
      parentPort.postMessage(loadedPackages());
    })()\`;
    const worker = new Worker(code, { eval: true });
    worker.once('message', (names) => { process.stdout.write(JSON.stringify(names)); process.exit(0); });`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
}

/** Takes a script (ES module code run after the hook is in place); returns the dist/ module files it loaded. */
function distModulesLoadedBy(code: string): string[] {
  const hook = `import { appendFileSync } from 'node:fs';
    export async function load(url, context, next) { if (url.includes('/dist/')) appendFileSync(process.env.LOADED_LOG, url.slice(url.indexOf('/dist/') + 6) + '\\n'); return next(url, context); }`;
  const script = `
    const { register } = await import('node:module');
    register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
    ${code}
    process.stdout.write((await import('node:fs')).readFileSync(process.env.LOADED_LOG, 'utf8'));`;
  const log = join(mkdtempSync(join(tmpdir(), 'loaded-modules-')), 'loaded.txt');
  writeFileSync(log, '');
  try {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, LOADED_LOG: log } });
    return out.split('\n').filter((l) => l !== '');
  } finally {
    rmSync(dirname(log), { recursive: true, force: true });
  }
}

// Each feature module costs every isolate its own parse and keep; a config that does not use the feature must not
// load it (workers/feature-modules.ts loads it when a config first does).
describe('feature modules', () => {
  const POLICY = ['workers/filters/policy-filters.js', 'workers/filters/rbac/rbac-compile.js', 'workers/filters/ext-authz/ext-authz-filter.js', 'workers/filters/mixer/mixer-compile.js'];

  it("the data plane's graph (worker thread and one-thread mode) loads no access-policy filter module", () => {
    const loaded = distModulesLoadedBy(`await import(${JSON.stringify(`${root}dist/workers/data-plane.js`)}); await import(${JSON.stringify(`${root}dist/workers/agent/in-thread-data-plane.js`)});`);
    expect(loaded).toContain('workers/route-filters.js'); // the list is real
    expect(loaded.filter((m) => POLICY.includes(m))).toEqual([]);
  });

  it('the list is real: loading the features a config with an RBAC filter uses loads them', () => {
    const loaded = distModulesLoadedBy(`await (await import(${JSON.stringify(`${root}dist/workers/feature-modules.js`)})).loadPolicyFilters();`);
    expect(POLICY.filter((m) => !loaded.includes(m))).toEqual([]);
  });
});

describe("the data plane's module graph", () => {
  it('loads neither yaml, pino-pretty, uWebSockets.js nor gRPC', () => {
    const loaded = packagesLoadedBy('workers/data-plane.js');
    expect(loaded.filter((name) => name === 'yaml' || name === 'pino-pretty' || name.includes('uws') || name.startsWith('@grpc/'))).toEqual([]);
  });

  // pino and its streams cost each worker isolate ~1.3 MB of heap; a worker's few log lines go to the agent (worker-log.ts).
  it("a worker thread's entry loads no logging package (pino, sonic-boom, thread-stream)", () => {
    const loaded = packagesLoadedInWorkerBy('workers/worker-main.js');
    expect(loaded).toContain('lmdb'); // the list is real: the worker's config store
    expect(loaded.filter((name) => name.startsWith('pino') || name === 'sonic-boom' || name === 'thread-stream')).toEqual([]);
  });

  it('the list is real: the agent, which reads YAML bootstraps, does load yaml', () => {
    expect(packagesLoadedBy('workers/agent/proxy-agent.js')).toContain('yaml');
  });
});

// node:http2 (with node:tls under it) is about 3 MB of RSS per isolate and node:http about 1 MB; a sidecar that
// speaks plain HTTP/1.1 must not pay for them: the modules that need them load them on first use.
describe("a proxy role's Node built-ins", () => {
  it('the agent and the data plane (one-thread mode loads both) load neither node:http2, node:tls nor node:http', () => {
    const loaded = builtinsLoadedBy('workers/agent/proxy-command.js', 'workers/agent/proxy-agent.js', 'workers/agent/in-thread-data-plane.js', 'workers/data-plane.js');
    expect(loaded.filter((name) => name === 'http2' || name === 'tls' || name === 'http')).toEqual([]);
  });

  it('the list is real: the module that drives node:http2 sessions loads it when a session starts', () => {
    const script = `
      const { nodeHttp2 } = await import(${JSON.stringify(`${root}dist/src/node-http2.js`)});
      const before = process.moduleLoadList.includes('NativeModule http2');
      nodeHttp2();
      process.stdout.write(JSON.stringify([before, process.moduleLoadList.includes('NativeModule http2')]));`;
    expect(JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }))).toEqual([false, true]);
  });
});

