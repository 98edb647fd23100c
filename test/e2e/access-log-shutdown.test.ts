// Access-log lines wait up to a second for their batch (workers/access-log.ts):
// a graceful stop (SIGTERM) still writes them (each thread's exit handler), so
// every answered request has its line in the file after the proxy exits.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapYaml, request, startProxy, startUpstream, taggedBootstrap, tempDir, type Upstream } from './harness.js';

const dir = tempDir('access-log-shutdown');
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  writeFileSync(join(dir.path, 'bootstrap.yaml'), bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
});
afterAll(async () => {
  await upstream?.close();
  dir.remove();
});

describe('a graceful stop', () => {
  for (const workers of [1, 2]) {
    it(`writes the access-log line of every answered request before exiting (--workers ${workers})`, async () => {
      const logPath = join(dir.path, `access-${workers}.log`);
      const proxy = await startProxy({
        bootstrapPath: join(dir.path, 'bootstrap.yaml'), dataDir: join(dir.path, `data-${workers}`), workers, args: ['--access-log', logPath],
      });
      const port = proxy.ports.get('outbound')!;
      for (let i = 0; i < 40; i++) expect((await request(port, `/last/${i}`)).status).toBe(200);
      expect(await proxy.stop('SIGTERM')).toBe(0);
      const lines = readFileSync(logPath, 'utf8').split('\n').filter((l) => l.includes('/last/'));
      expect(lines).toHaveLength(40);
    });
  }
});
