// Loggers write JSON lines to fd 1 asynchronously, from the main thread and
// from worker threads alike, and lose nothing when the process or the thread exits at once.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOG_MODULE = new URL('../dist/src/log.js', import.meta.url);

describe('createLogger', () => {
  it('writes JSON lines from the main thread and a worker thread, flushed on process.exit', () => {
    expect(existsSync(fileURLToPath(LOG_MODULE)), 'run `npx tsc -p .` first').toBe(true);
    const script = `
      import { Worker } from 'node:worker_threads';
      import { createLogger } from ${JSON.stringify(LOG_MODULE.href)};
      const log = createLogger('main-test', 'debug');
      log.debug({ n: 1 }, 'from main');
      const worker = new Worker(
        "import('node:worker_threads').then(({ workerData }) => import(workerData))" +
          ".then(({ createLogger }) => { for (let i = 0; i < 500; i++) createLogger('worker-test').info({ i }, 'from worker'); process.exit(0); })",
        { eval: true, workerData: ${JSON.stringify(LOG_MODULE.href)} },
      );
      worker.on('exit', () => {
        for (let i = 0; i < 2000; i++) log.info({ i }, 'burst');
        log.trace('hidden below debug');
        process.exit(0);
      });
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH } });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; msg: string; level: number; i?: number });
    expect(lines.filter((l) => l.msg === 'from main' && l.name === 'main-test' && l.level === 20)).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'from worker' && l.name === 'worker-test')).toHaveLength(500);
    expect(lines.filter((l) => l.msg === 'burst')).toHaveLength(2000);
    expect(lines.some((l) => l.msg === 'hidden below debug')).toBe(false);
  });
});
