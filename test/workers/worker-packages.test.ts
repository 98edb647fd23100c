// A worker thread's memory is mostly the modules it loads (each isolate has its own copy), so the data plane's
// module graph must not reach what only the agent uses: the YAML library (config files are read on the main
// thread; workers get parsed config from LMDB), pino-pretty, uWebSockets.js or gRPC. Loaded as a worker
// loads it: the compiled dist/ graph of data-plane.js in a fresh process.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

function packagesLoadedBy(module: string): string[] {
  const script = `
    await import(${JSON.stringify(`${root}dist/${module}`)});
    const { loadedPackages } = await import(${JSON.stringify(`${root}dist/src/process/loaded-packages.js`)});
    process.stdout.write(JSON.stringify(loadedPackages()));`;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })) as string[];
}

describe("the data plane's module graph", () => {
  it('loads neither yaml, pino-pretty, uWebSockets.js nor gRPC', () => {
    const loaded = packagesLoadedBy('workers/data-plane.js');
    expect(loaded.filter((name) => name === 'yaml' || name === 'pino-pretty' || name.includes('uws') || name.startsWith('@grpc/'))).toEqual([]);
  });

  it('the list is real: the agent, which reads YAML bootstraps, does load yaml', () => {
    expect(packagesLoadedBy('workers/agent/proxy-agent.js')).toContain('yaml');
  });
});
