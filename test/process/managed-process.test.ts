import { describe, expect, it } from 'vitest';
import { parseJsonLine, startManagedProcess } from '../../src/process/managed-process.js';

const node = process.execPath;

describe('startManagedProcess', () => {
  it('resolves with what the ready line says, and stop() ends the child with SIGTERM', async () => {
    const script = `
      process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); });
      console.log(JSON.stringify({ msg: 'ready', port: 4321 }));
      setInterval(() => {}, 1000);`;
    const proc = await startManagedProcess({
      name: 'child',
      command: node,
      args: ['-e', script],
      readyLine: (line) => {
        const record = parseJsonLine(line);
        return record?.msg === 'ready' ? (record.port as number) : undefined;
      },
    });
    expect(proc.ready).toBe(4321);
    expect(proc.exited).toBe(false);
    expect(await proc.stop()).toBe(0);
    expect(proc.exited).toBe(true);
    expect(proc.recentOutput()).toContain('got SIGTERM');
  });

  it('rejects with the child\'s last output when it exits before it is ready', async () => {
    await expect(
      startManagedProcess({ name: 'broken', command: node, args: ['-e', 'console.error("bad config: line 3"); process.exit(3)'], readyLine: () => undefined }),
    ).rejects.toThrow(/broken exited before it was ready \(code 3[\s\S]*bad config: line 3/);
  });

  it('rejects when the child is not ready in time, and kills it (SIGKILL after the grace if SIGTERM is ignored)', async () => {
    const started = Date.now();
    await expect(
      startManagedProcess({
        name: 'slow',
        command: node,
        args: ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"],
        readyLine: () => undefined,
        readyTimeoutMs: 300,
      }),
    ).rejects.toThrow(/slow was not ready after 300 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('can wait for a TCP port to accept instead of a line', async () => {
    const script = "require('node:net').createServer().listen(0, '127.0.0.1', function () { console.log(this.address().port); })";
    let port = 0;
    const probe = await startManagedProcess({
      name: 'listener',
      command: node,
      args: ['-e', script],
      readyLine: (line) => (/^\d+$/.test(line) ? (port = Number(line)) : undefined),
    });
    const proc = await startManagedProcess({ name: 'by-port', command: node, args: ['-e', 'setInterval(() => {}, 1000)'], readyPort: port });
    expect(proc.ready).toBe(port);
    await proc.stop();
    await probe.stop();
  });

  it('reports a command that does not exist', async () => {
    await expect(startManagedProcess({ name: 'ghost', command: '/nonexistent/binary', args: [], readyLine: () => 1 })).rejects.toThrow(
      /ghost did not start: spawn \/nonexistent\/binary ENOENT/,
    );
  });
});
