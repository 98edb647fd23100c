// Loggers write JSON lines to fd 1 asynchronously, from the main thread and
// from worker threads alike, and lose nothing when the process or the thread exits at once.
import { spawn, spawnSync } from 'node:child_process';
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

describe('a log whose reader is gone', () => {
  it.each(['json', 'pretty'])('lets the process exit (%s): lines still buffered at exit are dropped, not retried against a broken pipe', async (format) => {
    // Many lines at once: the later ones wait in the buffer behind the first's write, so the exit flush writes them.
    const script = `
      import { createLogger } from ${JSON.stringify(LOG_MODULE.href)};
      const log = createLogger('pipe-test', 'info', { format: '${format}', colorize: false });
      log.info('ready');
      process.stdin.once('data', () => {
        for (let i = 0; i < 50; i++) log.info({ i }, 'after the reader left');
        process.exit(0);
      });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH } });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    child.stdin.write('go\n');
    const outcome = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 10_000))]);
    if (outcome === 'still running') child.kill('SIGKILL');
    expect(outcome).toBe(0);
  }, 20_000);
});
