// The control plane's write API (POST /apply, /delete) against web pages and
// local processes without the data dir: a cross-origin simple POST is
// refused and creates nothing, a DNS-rebinding Host is refused, a request
// without the admin token gets 401; `isthmus apply` finds the token (mode
// 0600, created at first start) by --data-dir, --token or ISTHMUS_TOKEN.
import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cleanEnv, isthmus, startControl, type RunningControl } from './control-harness.js';

const SE = 'apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata: {name: evil}\nspec:\n  hosts: [evil.example]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n';

let control: RunningControl | null = null;
afterEach(async () => {
  await control?.stop('SIGKILL');
  control?.remove();
  control = null;
});

async function resourceKeys(c: RunningControl): Promise<string[]> {
  const r = await c.admin('/debug/configz');
  expect(r.status).toBe(200);
  return (JSON.parse(r.text) as { resources: { key: string }[] }).resources.map((s) => s.key);
}

/** node:http, not fetch: fetch replaces a Host header given to it. */
function post(c: RunningControl, path: string, headers: Record<string, string>): Promise<{ status: number; text(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: c.adminPort, path, method: 'POST', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: () => Promise.resolve(body) }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`POST ${path} timed out`)));
    req.on('error', reject);
    req.end(SE);
  });
}

describe('control admin write API', { timeout: 30_000 }, () => {
  it('creates its admin token with mode 0600 and keeps it across restarts', async () => {
    control = await startControl();
    const path = join(control.dataDir, 'admin-token');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(control.token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const { token, dataDir, configDir } = control;
    await control.stop('SIGTERM');
    const old = control;
    control = await startControl(undefined, { configDir, dataDir });
    expect(control.token).toBe(token);
    old.remove();
  });

  it('refuses a cross-origin simple POST to /apply and /delete, even with the token, and creates nothing', async () => {
    control = await startControl();
    for (const path of ['/apply', '/delete']) {
      const r = await post(control, path, { 'content-type': 'text/plain', origin: 'http://evil.example', authorization: `Bearer ${control.token}` });
      expect(r.status, path).toBe(403);
      const plain = await post(control, path, { 'content-type': 'text/plain', authorization: `Bearer ${control.token}` });
      expect(plain.status, path).toBe(403);
      const rebound = await post(control, path, { 'content-type': 'application/yaml', host: `evil.example:${control.adminPort}`, authorization: `Bearer ${control.token}` });
      expect(rebound.status, path).toBe(403);
    }
    expect(await resourceKeys(control)).toEqual([]);
  });

  it('answers 401 without the right token, and applies with it', async () => {
    control = await startControl();
    const missing = await post(control, '/apply', { 'content-type': 'application/yaml' });
    expect(missing.status).toBe(401);
    expect(await missing.text()).toContain('needs the admin token (authorization: Bearer TOKEN): `isthmus apply` and `isthmus delete` read it from admin-token in the control plane\'s --data-dir');
    expect((await post(control, '/apply', { 'content-type': 'application/yaml', authorization: 'Bearer not-the-token' })).status).toBe(401);
    expect(await resourceKeys(control)).toEqual([]);
    const ok = await post(control, '/apply', { 'content-type': 'application/yaml', authorization: `Bearer ${control.token}` });
    expect(ok.status).toBe(200);
    expect(await resourceKeys(control)).toEqual(['ServiceEntry/default/evil']);
  });

  it('isthmus apply without the token fails clearly; with --token, --data-dir or ISTHMUS_TOKEN it applies', async () => {
    control = await startControl();
    const url = `http://127.0.0.1:${control.adminPort}`;
    const file = join(control.dir, 'se.yaml');
    writeFileSync(file, SE);
    let r = isthmus(['apply', '-f', file, '--control', url], control.dir); // cwd has no .isthmus/control/admin-token
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`isthmus apply: the control plane needs its admin token (no token given and no ${join(control.dir, '.isthmus', 'control', 'admin-token')})`);
    r = isthmus(['apply', '-f', file, '--control', url, '--token', 'wrong'], control.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the token was refused');
    expect(await resourceKeys(control)).toEqual([]);
    r = isthmus(['apply', '-f', file, '--control', url, '--token', control.token], control.dir);
    expect(r).toMatchObject({ code: 0, stdout: 'ServiceEntry/default/evil created\n' });
    r = isthmus(['delete', '-f', file, '--control', url, '--data-dir', control.dataDir], control.dir);
    expect(r).toMatchObject({ code: 0, stdout: 'ServiceEntry/default/evil deleted\n' });
    expect(await resourceKeys(control)).toEqual([]);
    const viaEnv = spawnSync(process.execPath, [CLI, 'apply', '-f', file, '--control', url], {
      cwd: control.dir, env: { ...cleanEnv(), ISTHMUS_TOKEN: control.token }, encoding: 'utf8', timeout: 20_000,
    });
    expect(viaEnv).toMatchObject({ status: 0, stdout: 'ServiceEntry/default/evil created\n' });
  });
});
