// --startup-pages release (the default): once serving, the proxy no longer
// maps the node binary's pages only startup used, and keeps serving (what it
// touches again is faulted back from the page cache): with one worker, with
// worker threads, and across a reload. --startup-pages keep leaves them mapped.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapYaml, replaceFile, request, startProxy, startUpstream, taggedBootstrap, tempDir, waitFor, type RunningProxy, type Upstream } from './harness.js';

const dir = tempDir('startup-pages');
const bootstrapPath = join(dir.path, 'bootstrap.yaml');
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  writeFileSync(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
});
afterAll(async () => {
  await upstream?.close();
  dir.remove();
});

/** Takes a pid; returns the MB of the node binary that process has resident (its smaps Rss over the executable's mappings). */
function binaryResidentMb(pid: number): number {
  const exe = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]!;
  let kb = 0;
  for (const block of readFileSync(`/proc/${pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const path = block.split('\n', 1)[0]!.split(/\s+/).slice(5).join(' ');
    if (path === exe || path === process.execPath) kb += Number(/^Rss:\s+(\d+)/m.exec(block)?.[1] ?? 0);
  }
  return kb / 1024;
}

/** Takes a pid; returns its peak resident set so far (VmHWM), MB. */
function peakMb(pid: number): number {
  return Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

async function serves(p: RunningProxy, tag: string, count: number): Promise<void> {
  const port = p.ports.get('outbound')!;
  for (let i = 0; i < count; i++) {
    const res = await request(port, `/pages/${tag}/${i}`);
    expect(res.status).toBe(200);
    expect(res.body).toBe(`upstream /pages/${tag}/${i}\n`);
  }
}

describe.skipIf(process.platform !== 'linux')('--startup-pages', () => {
  it('release (the default) maps far less of the node binary than keep once serving, and both serve and reload alike', async () => {
    const released = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-release'), workers: 1 });
    const kept = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-keep'), workers: 1, args: ['--startup-pages', 'keep'] });
    try {
      await serves(released, 'a', 200);
      await serves(kept, 'a', 200);
      const releasedMb = binaryResidentMb(released.child.pid!);
      const keptMb = binaryResidentMb(kept.child.pid!);
      // Measured: ~16 against ~39 MB. The bound leaves room for what serving faults back.
      expect(releasedMb).toBeLessThan(keptMb * 0.75);
      // A reload after the release runs code startup ran (YAML, config compile): it is faulted back, not lost.
      replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v2' })));
      await waitFor('the reload to serve v2', async () => (await request(released.ports.get('outbound')!, '/version')).body === 'v2');
      await serves(released, 'b', 50);
      expect(released.child.exitCode).toBeNull();
    } finally {
      replaceFile(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
      await released.stop('SIGKILL');
      await kept.stop('SIGKILL');
    }
  }, 60_000);

  it('release with worker threads: the workers, started before it, keep serving', async () => {
    const p = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-workers'), workers: 2 });
    try {
      await serves(p, 'w', 300);
      expect(binaryResidentMb(p.child.pid!)).toBeGreaterThan(0);
      expect(p.child.exitCode).toBeNull();
    } finally {
      await p.stop('SIGKILL');
    }
  }, 60_000);

  // The peak is inside startup, not at its phase ends: two worker threads booting at once fault in ~24 MB of the
  // binary before any phase ends. A thread releasing them every few ms while starting keeps the peak (VmHWM,
  // startup included) down. Measured with two workers: ~62 against ~91 MB with keep (main, phase ends only: ~84).
  it('release keeps the startup peak itself (VmHWM) well under keep, with two worker threads booting at once', async () => {
    const released = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-peak-release'), workers: 2 });
    const kept = await startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-peak-keep'), workers: 2, args: ['--startup-pages', 'keep'] });
    try {
      const releasedMb = peakMb(released.child.pid!);
      const keptMb = peakMb(kept.child.pid!);
      expect(keptMb - releasedMb).toBeGreaterThan(15);
      await serves(released, 'peak', 50);
    } finally {
      await released.stop('SIGKILL');
      await kept.stop('SIGKILL');
    }
  }, 60_000);

  it('rejects a value other than release or keep, naming the option', async () => {
    await expect(startProxy({ bootstrapPath, dataDir: join(dir.path, 'data-bad'), workers: 1, args: ['--startup-pages', 'drop'] })).rejects.toThrow(/startup-pages/);
  }, 30_000);
});
