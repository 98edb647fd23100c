// `isthmus control` as a process: the watched folder's resources in
// /debug/configz with file:line statuses, live edits, `isthmus apply -f` and
// `isthmus delete -f` round trips, a bad apply that changes nothing,
// /metrics, restart persistence, and a clean SIGTERM exit.
import { createServer } from 'node:net';
import { rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isthmus, startControl, waitFor, type RunningControl } from './control-harness.js';

const V = 'apiVersion: networking.istio.io/v1beta1';
const SE = `${V}\nkind: ServiceEntry\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  ports: [{number: 9080, name: http, protocol: HTTP}]\n`;
const DR = `${V}\nkind: DestinationRule\nmetadata: {name: reviews}\nspec:\n  host: reviews\n  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]\n`;
const vs = (subset: string, extra = '') =>
  `${V}\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: ${subset}}${extra}\n`;

interface Status {
  key: string;
  source: string;
  location: string | null;
  status: string;
  reason?: string;
  serving: string;
  warnings: string[];
}

async function configz(c: RunningControl): Promise<{ revision: number; resources: Status[] }> {
  const r = await c.admin('/debug/configz');
  expect(r.status).toBe(200);
  return JSON.parse(r.text) as { revision: number; resources: Status[] };
}

function write(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path); // as editors do
}

let control: RunningControl | null = null;
afterEach(async () => {
  await control?.stop('SIGKILL');
  control?.remove();
  control = null;
});

// Each test starts real processes (the control plane, the CLI): 5 s is too tight on a loaded 2-core machine.
describe('isthmus control', { timeout: 30_000 }, () => {
  it('shows each resource of the watched folder as accepted, or rejected with file:line, and follows edits', async () => {
    control = await startControl((dir) => {
      writeFileSync(join(dir, 'mesh.yaml'), `${SE}---\n${DR}`);
      writeFileSync(join(dir, 'vs.yaml'), vs('v1', '\n      weight: x'));
    });
    const vsFile = join(control.configDir, 'vs.yaml');
    let z = await configz(control);
    expect(z.resources.map((s) => [s.key, s.status, s.location])).toEqual([
      ['DestinationRule/default/reviews', 'accepted', `${join(control.configDir, 'mesh.yaml')}:8`],
      ['ServiceEntry/default/reviews', 'accepted', `${join(control.configDir, 'mesh.yaml')}:1`],
      ['VirtualService/default/reviews', 'rejected', `${vsFile}:1`],
    ]);
    expect(z.resources[2]!.reason).toBe(`${vsFile}:9: spec.http[0].route[0].weight must be an integer`);
    expect(z.resources[2]!.serving).toBe('none');

    write(vsFile, vs('v2'));
    z = await waitFor('the edit to reach configz', async () => {
      const now = await configz(control!);
      return now.resources[2]!.status === 'accepted' ? now : null;
    });
    expect(z.resources[2]).toMatchObject({ source: `dir:${vsFile}`, serving: 'current', warnings: [] });

    rmSync(vsFile);
    await waitFor('the deleted file to leave configz', async () => (await configz(control!)).resources.length === 2);
    const metrics = (await control.admin('/metrics')).text;
    expect(metrics).toContain('isthmus_control_config_resources{kind="ServiceEntry",status="accepted"} 1\n');
    expect(metrics).toMatch(/^isthmus_control_config_reloads_total [3-9]$/m);
    expect(metrics).toContain('isthmus_control_config_rejected_resources 0\n');
  });

  it('applies and deletes with the CLI, refuses a bad apply as a whole, and keeps applied config across a restart', async () => {
    control = await startControl((dir) => writeFileSync(join(dir, 'se.yaml'), SE));
    const url = `http://127.0.0.1:${control.adminPort}`;
    const file = join(control.dir, 'reviews.yaml');
    writeFileSync(file, `${DR}---\n${vs('v1')}`);
    let r = isthmus(['apply', '-f', file, '--control', url, '--data-dir', control.dataDir], control.dir);
    expect(r.stdout).toBe('DestinationRule/default/reviews created\nVirtualService/default/reviews created\n');
    expect(r.code).toBe(0);
    r = isthmus(['apply', '-f', file, '--control', url, '--data-dir', control.dataDir], control.dir);
    expect(r.stdout).toBe([
      'DestinationRule/default/reviews unchanged',
      'VirtualService/default/reviews unchanged',
      'unchanged: the control plane already serves all 2 resources as given',
      '',
    ].join('\n'));

    // What `isthmus analyze` would warn about is shown under the resource, at its line in the user's file.
    const ratings = join(control.dir, 'ratings.yaml');
    writeFileSync(ratings, `${V}\nkind: DestinationRule\nmetadata: {name: ratings}\nspec:\n  host: ratings\n`);
    r = isthmus(['apply', '-f', ratings, '--control', url, '--data-dir', control.dataDir], control.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^DestinationRule/default/ratings created\\n  ${ratings.replace(/[.]/g, '\\.')}:5: warning: spec\\.host ratings\\.default\\.svc\\.cluster\\.local is not defined by any ServiceEntry \\(IST0101 `));
    r = isthmus(['delete', '-f', ratings, '--control', url, '--data-dir', control.dataDir], control.dir);
    expect(r.stdout).toBe('DestinationRule/default/ratings deleted\n');

    const before = await configz(control);
    expect(before.resources.find((s) => s.key === 'VirtualService/default/reviews')).toMatchObject({ source: 'api', status: 'accepted' });
    const bad = join(control.dir, 'bad.yaml');
    writeFileSync(bad, `${vs('v2')}---\n${DR.replace('host: reviews', 'hosts: reviews')}`);
    r = isthmus(['apply', '-f', bad, '--control', url, '--data-dir', control.dataDir], control.dir);
    expect(r.code).toBe(1);
    // Each error on its own line, at its line in the user's file.
    expect(r.stdout).toBe([
      `VirtualService/default/reviews rejected: not applied: the request had rejected documents (${bad}:10)`,
      'DestinationRule/default/reviews rejected:',
      `  ${bad}:14: error: spec.host is required`,
      `  ${bad}:14: error: spec.hosts is not supported; did you mean 'host'?`,
      '',
    ].join('\n'));
    expect(await configz(control)).toEqual(before);

    r = isthmus(['delete', '-f', join(control.configDir, 'se.yaml'), '--control', url, '--data-dir', control.dataDir], control.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ServiceEntry\/default\/reviews rejected:\n {2}\S+se\.yaml:1: error: ServiceEntry\/default\/reviews is defined in the watched config folder/);

    // Persisted in LMDB: a new process on the same data dir serves the applied resources again.
    expect(await control.stop('SIGTERM')).toBe(0);
    const old = control;
    control = null;
    try {
      control = await startControl(undefined, { configDir: old.configDir, dataDir: join(old.dir, 'data') });
      expect((await configz(control)).resources.map((s) => `${s.key} ${s.source}`)).toEqual([
        'DestinationRule/default/reviews api', `ServiceEntry/default/reviews dir:${join(old.configDir, 'se.yaml')}`, 'VirtualService/default/reviews api',
      ]);
      r = isthmus(['delete', '-f', file, '--control', `http://127.0.0.1:${control.adminPort}`, '--data-dir', control.dataDir], control.dir);
      expect(r.stdout).toBe('DestinationRule/default/reviews deleted\nVirtualService/default/reviews deleted\n');
      expect(r.code).toBe(0);
      expect((await configz(control)).resources.map((s) => s.key)).toEqual(['ServiceEntry/default/reviews']);
    } finally {
      old.remove();
    }
  });

  it('reports an unreachable control plane, and exits 0 on SIGTERM', async () => {
    control = await startControl();
    const closed = await closedPort();
    const r = isthmus(['apply', '-f', '/dev/null', '--control', `http://127.0.0.1:${closed}`], control.dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`isthmus apply: cannot reach the control plane at http://127.0.0.1:${closed}: ECONNREFUSED\n`);
    expect((await control.admin('/ready')).status).toBe(200);
    expect(await control.stop('SIGTERM')).toBe(0);
    expect(control.lines.some((l) => l.msg === 'control stopping')).toBe(true);
  });

  it('refuses a second control plane on the same data directory, naming the one that holds it', async () => {
    control = await startControl();
    const second = isthmus(['control', '--data-dir', join(control.dir, 'data'), '--admin-port', '0'], control.dir);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(String(control.child.pid));
  });
});

/** A loopback port nothing listens on (taken from the kernel, then released). */
function closedPort(): Promise<number> {
  return new Promise((res) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}
