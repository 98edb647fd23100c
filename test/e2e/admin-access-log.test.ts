// admin.access_log_path from the bootstrap, as in the config Envoy's image
// ships: the proxy appends one line per admin request to that file, in the
// shape of Envoy's default access-log format.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, startProxy, tempDir, waitFor, type RunningProxy } from './harness.js';

const dir = tempDir('admin-log');
let proxy: RunningProxy | undefined;

afterAll(async () => {
  await proxy?.stop('SIGKILL');
  dir.remove();
});

describe('admin.access_log_path', () => {
  it('gets a line per admin request', async () => {
    const path = join(dir.path, 'admin_access.log');
    const bootstrap = {
      admin: { access_log_path: path, address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
      ...bootstrapWith({ virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200 } }] }] }, []),
    };
    proxy = await startProxy({ bootstrap });
    expect((await admin(proxy, '/ready')).status).toBe(200);
    expect((await admin(proxy, '/clusters?format=json')).status).toBe(200);
    expect((await admin(proxy, '/ready', 'POST')).status).toBe(405); // not a route: not logged
    const lines = await waitFor('two log lines', () => {
      let text = '';
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
      const found = text.split('\n').filter((l) => l !== '');
      return found.length >= 2 ? found : undefined;
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "GET \/ready HTTP\/1\.1" 200 - 0 5 \d+$/);
    expect(lines[1]).toMatch(/^\[[^\]]+\] "GET \/clusters\?format=json HTTP\/1\.1" 200 - 0 \d+ \d+$/);
  }, 30_000);
});
