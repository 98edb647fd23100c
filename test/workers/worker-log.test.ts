// A worker thread's log records reach the agent over a message port (workers/worker-log.ts): below the worker's
// level nothing is posted, an Error arrives as an Error, and a field a message cannot carry still leaves a line.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerLog, type WorkerLogRecord } from '../../workers/worker-log.js';

let ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports) p.close();
  ports = [];
});

/** A WorkerLog posting through a real MessageChannel, and what the other side received. */
function relayed(level: string): { log: WorkerLog; received: () => Promise<WorkerLogRecord[]> } {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const got: WorkerLogRecord[] = [];
  port2.on('message', (m: WorkerLogRecord) => got.push(m));
  const log = new WorkerLog((record) => port1.postMessage(record), level);
  return { log, received: () => new Promise((resolve) => setTimeout(() => resolve(got), 50)) };
}

describe('WorkerLog', () => {
  it('posts records at or above its level, with their fields; an Error stays an Error', async () => {
    const { log, received } = relayed('warn');
    log.info({ version: 1 }, 'not posted: below warn');
    log.warn('the shared bucket table is full');
    log.error({ version: 7, err: new Error('route table broke') }, 'config not applied; keeping the previous one');
    const got = await received();
    expect(got.map((r) => [r.level, r.msg])).toEqual([
      ['warn', 'the shared bucket table is full'],
      ['error', 'config not applied; keeping the previous one'],
    ]);
    expect(got[1]!.fields.version).toBe(7);
    expect(got[1]!.fields.err).toBeInstanceOf(Error);
    expect((got[1]!.fields.err as Error).message).toBe('route table broke');
  });

  it('follows setLevel (admin /logging) and ignores an unknown level', async () => {
    const { log, received } = relayed('error');
    log.warn('dropped');
    log.setLevel('info');
    log.setLevel('loud');
    log.info('kept');
    expect((await received()).map((r) => r.msg)).toEqual(['kept']);
  });

  it('a field a message cannot carry (a function) still leaves the line, its fields as text', async () => {
    const { log, received } = relayed('info');
    log.error({ version: 3, callback: () => 1 }, 'odd fields');
    const got = await received();
    expect(got).toHaveLength(1);
    expect(got[0]!.msg).toBe('odd fields');
    expect(String(got[0]!.fields.detail)).toContain('version=3');
  });
});
