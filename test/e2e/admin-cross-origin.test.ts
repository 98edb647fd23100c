// A web page must not drive the proxy's admin port: a cross-origin "simple"
// POST (what any page can send without a CORS preflight) to each endpoint
// that changes state is refused and changes nothing; a DNS-rebinding Host is
// refused; a tool's POST (curl with `x-isthmus-admin: 1`, or a JSON body)
// still works, and --admin-allowed-host admits a name.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapYaml, configDump, request, startProxy, startUpstream, taggedBootstrap, tempDir,
  type RunningProxy, type Upstream,
} from './harness.js';

const dir = tempDir('admin-cross-origin');
let upstream: Upstream;
let proxy: RunningProxy;
let port: number;

const STATE_CHANGING = ['/drain_listeners', '/quitquitquit', '/debug/crash_worker?id=0'];
const EVIL = 'http://evil.example';

beforeAll(async () => {
  upstream = await startUpstream();
  const bootstrapPath = join(dir.path, 'bootstrap.yaml');
  writeFileSync(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' })));
  proxy = await startProxy({
    bootstrapPath, dataDir: join(dir.path, 'data'), args: ['--enable-debug-endpoints', '--admin-allowed-host', 'proxy-admin.internal'],
  });
  port = proxy.ports.get('outbound')!;
}, 30_000);

afterAll(async () => {
  await proxy?.stop('SIGKILL');
  await upstream?.close();
  dir.remove();
});

async function stillServing(): Promise<void> {
  expect((await request(port, '/after')).status).toBe(200);
  expect((await request(proxy.adminPort, '/ready')).status).toBe(200);
  const dump = await configDump(proxy);
  expect(dump.workers.map((w) => [w.state, w.restarts])).toEqual([['running', 0]]);
}

describe('proxy admin API against cross-origin pages', { timeout: 30_000 }, () => {
  it('refuses a cross-origin simple POST to every state-changing endpoint, and keeps serving', async () => {
    for (const path of STATE_CHANGING) {
      for (const headers of [
        { 'content-type': 'text/plain', origin: EVIL },
        { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
        { 'content-type': 'text/plain' }, // no Origin: the content type alone must not be enough
      ]) {
        const r = await request(proxy.adminPort, path, { method: 'POST', headers, body: 'x=1' });
        expect(r.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
      }
    }
    await new Promise((r) => setTimeout(r, 300)); // a quit or crash would have started by now
    expect(proxy.child.exitCode).toBeNull();
    await stillServing();
  });

  it('refuses a DNS-rebinding Host, even with the admin header, on reads and writes', async () => {
    const host = `evil.example:${proxy.adminPort}`;
    const read = await request(proxy.adminPort, '/config_dump', { headers: { host } });
    expect(read.status).toBe(403);
    expect(read.body).toContain('DNS rebinding');
    for (const path of STATE_CHANGING) {
      expect((await request(proxy.adminPort, path, { method: 'POST', headers: { host, 'x-isthmus-admin': '1' } })).status).toBe(403);
    }
    await stillServing();
    // The configured name and the loopback spellings are the admin's own.
    for (const h of [`proxy-admin.internal:${proxy.adminPort}`, `localhost:${proxy.adminPort}`, `[::1]:${proxy.adminPort}`]) {
      expect((await request(proxy.adminPort, '/ready', { headers: { host: h } })).status, h).toBe(200);
    }
  });

  it('takes a tool\'s POST: the admin header, or a JSON body from the admin\'s own origin', async () => {
    const own = `http://127.0.0.1:${proxy.adminPort}`;
    const crash = await request(proxy.adminPort, '/debug/crash_worker?id=9', { method: 'POST', headers: { 'x-isthmus-admin': '1' } });
    expect(crash).toMatchObject({ status: 404, body: 'no live worker 9\n' }); // reached the handler
    const drain = await request(proxy.adminPort, '/drain_listeners', { method: 'POST', headers: { 'content-type': 'application/json', origin: own }, body: '{}' });
    expect(drain.status).toBe(200);
    expect((await request(proxy.adminPort, '/ready')).status).toBe(503);
  });
});
