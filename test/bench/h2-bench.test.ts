// bench/h2-bench.ts's gRPC load (a child process, as `isthmus bench h2` runs it) against a target that accepts
// connections and never answers: the measurement ends with an error instead of waiting forever.
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

describe('h2-bench gRPC load', () => {
  it('gives up on a target that never answers, naming it', async () => {
    // The compiled file: the load runs in a fork of it.
    const { measureGrpc } = (await import(join(root, 'dist', 'bench', 'h2-bench.js'))) as typeof import('../../bench/h2-bench.js');
    const held: Socket[] = [];
    const silent = createServer((socket) => {
      held.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const started = Date.now();
      const outcome = await Promise.race([
        measureGrpc(`127.0.0.1:${port}`, 1).then(() => 'answered', (err: Error) => err.message),
        new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 40_000)),
      ]);
      expect(outcome).toBe(`gRPC load against 127.0.0.1:${port}: no result within 12 s (calls left unanswered)`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(11_000);
    } finally {
      for (const s of held) s.destroy();
      silent.close();
    }
  }, 60_000);

  it('says so when its upstreams cannot listen, instead of waiting for them', async () => {
    const { forkUpstreams } = (await import(join(root, 'dist', 'bench', 'h2-bench.js'))) as typeof import('../../bench/h2-bench.js');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const outcome = await Promise.race([
        forkUpstreams(port, port).then((child) => {
          child.kill('SIGTERM');
          return 'listening';
        }, (err: Error) => err.message),
        new Promise<string>((resolve) => setTimeout(() => resolve('still waiting'), 20_000)),
      ]);
      expect(outcome).toMatch(new RegExp(`^h2 bench upstreams \\(ports ${port}, ${port}\\) exited \\(\\d+\\) before listening$`));
    } finally {
      taken.close();
    }
  }, 30_000);
});
