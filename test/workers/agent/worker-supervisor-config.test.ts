// Worker threads get each config version with its announcement (no LMDB): a thread starts with the newest in its
// workerData, and one that answers for an older version than the newest (it missed an announcement made while it
// started) gets the newest on its own port. Real worker threads, running a small stand-in for worker-main.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerSupervisor } from '../../../workers/agent/worker-supervisor.js';
import type { Bootstrap } from '../../../src/config/bootstrap-types.js';
import { createLogger } from '../../../src/log.js';
import type { WorkerInit } from '../../../workers/worker-protocol.js';

// Answers like worker-main: 'config-applied' for what workerData held, then for every version it is sent; and tells
// the test, through its log records, which configs it got.
const STAND_IN = `
import { parentPort, workerData } from 'node:worker_threads';
const seen = (how, version, config) => parentPort.postMessage({ type: 'log', record: { level: 'info', fields: { how, version, tag: config?.tag }, msg: 'seen' } });
const v = workerData.config?.version ?? 0;
seen('workerData', v, workerData.config?.bootstrap);
parentPort.postMessage({ type: 'config-applied', version: v });
parentPort.on('message', (m) => {
  if (m.type === 'config') {
    seen('port', m.announcement.version, m.announcement.config);
    parentPort.postMessage({ type: 'config-applied', version: m.announcement.version });
  }
  if (m.type === 'shutdown') { parentPort.postMessage({ type: 'drained' }); parentPort.close(); }
});
`;

const dirs: string[] = [];
let supervisor: WorkerSupervisor | undefined;
afterEach(async () => {
  await supervisor?.shutdown(200);
  supervisor = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('WorkerSupervisor config delivery', () => {
  it('starts a worker with the newest version, and sends a missed one to a worker that answered for an older one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'supervisor-config-'));
    dirs.push(dir);
    const script = join(dir, 'stand-in.mjs');
    writeFileSync(script, STAND_IN);
    const configs = new Map<number, Bootstrap>([[1, { tag: 'v1' } as unknown as Bootstrap], [2, { tag: 'v2' } as unknown as Bootstrap]]);
    const records: { how: string; version: number; tag: string }[] = [];
    const log = createLogger('supervisor-test', 'silent');
    const s = (supervisor = new WorkerSupervisor({
      count: 1, workerUrl: pathToFileURL(script), init: { logLevel: 'info' } as unknown as Omit<WorkerInit, 'workerId'>, log,
      readConfig: (version) => configs.get(version),
    }));
    // Records reach the agent's per-worker logger; watch them there.
    (s as unknown as { workerLogger: () => { info: (f: { how: string; version: number; tag: string }) => void } }).workerLogger = () => ({ info: (f) => records.push(f) });
    s.announce(1);
    await s.start();
    // v2 is announced before the thread listens on the channel: only the catch-up can bring it.
    s.announce(2);
    const deadline = Date.now() + 10_000;
    while (!s.allApplied(2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(s.allApplied(2)).toBe(true);
    expect(records[0]).toEqual({ how: 'workerData', version: 1, tag: 'v1' });
    expect(records).toContainEqual({ how: 'port', version: 2, tag: 'v2' });
  }, 20_000);
});
