// `isthmus control` serving xDS, run as a user runs it (bin/isthmus.js over
// dist/, so `npx tsc -p .` first) on a copy of examples/mesh: a grpc client
// announcing itself as productpage gets the mesh, an edit of the watched
// VirtualService reaches it as new routes, and `isthmus proxy-status`,
// `isthmus proxy-config` and /metrics show what happened.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, MeshTestClient } from '../mesh/mesh-test-client.js';
import { cleanEnv, CLI, isthmus, ROOT, waitFor, type LogLine } from './control-harness.js';

const REVIEWS = 'reviews.default.svc.cluster.local';

interface Running {
  child: ChildProcess;
  exited: Promise<number | null>;
  ready: LogLine;
}

let dir: string | null = null;
let running: Running | null = null;
let client: MeshTestClient | null = null;

afterEach(async () => {
  client?.close();
  client = null;
  if (running !== null && running.child.exitCode === null) {
    running.child.kill('SIGKILL');
    await running.exited;
  }
  running = null;
  if (dir !== null) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

async function startControl(args: string[]): Promise<Running> {
  if (!existsSync(join(ROOT, 'dist', 'control', 'mesh', 'mesh-publisher.js'))) throw new Error('dist/ is missing: run `npx tsc -p .` first');
  const child = spawn(process.execPath, [CLI, 'control', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const ready = await new Promise<LogLine>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`control not ready within 15 s\n${out}\n${err}`)), 15_000);
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      for (const text of out.split('\n')) {
        if (!text.includes('"control ready"')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(text) as LogLine);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`control exited with ${code}\n${out}\n${err}`));
    });
  });
  return { child, exited, ready };
}

// Real processes (control plane, CLI, an ADS client): 5 s is too tight on a loaded 2-core machine.
describe('isthmus control with xDS', { timeout: 30_000 }, () => {
  it('serves the watched mesh to an ADS client, pushes an edit, and reports it in proxy-status, proxy-config and /metrics', async () => {
    dir = mkdtempSync(join(tmpdir(), 'isthmus-xds-e2e-'));
    const configDir = join(dir, 'config');
    cpSync(join(ROOT, 'examples', 'mesh'), configDir, { recursive: true });
    running = await startControl([
      '--config-dir', configDir, '--data-dir', join(dir, 'data'), '--xds-port', '0', '--secure-xds-port', '0', '--admin-port', '0',
      '--push-debounce-quiet', '20ms', '--registration-grace', '300ms',
    ]);
    const xds = running.ready.xds as { address: string; port: number };
    const adminPort = (running.ready.admin as { port: number }).port;
    expect(xds.address).toBe('127.0.0.1');
    expect(xds.port).toBeGreaterThan(0);
    const control = `http://127.0.0.1:${adminPort}`;

    client = new MeshTestClient(xds.port, 'productpage-1', {
      service: 'productpage', namespace: 'default', labels: { version: 'v1' }, ip: '127.0.0.1', appPort: 9080,
    });
    await eventually('the mesh config', () => ['cds', 'eds', 'lds', 'rds'].every((t) => client!.version(t as 'cds') !== undefined), 5000);
    expect(client.resources('cds').map((c) => c.name)).toContain(`outbound|9080|v2|${REVIEWS}`);
    expect(client.endpointsOf(`outbound|9080|v3|${REVIEWS}`)).toEqual(['127.0.0.1:9083']);

    const status = await eventually('proxy-status to show SYNCED', () => {
      const r = isthmus(['proxy-status', '--control', control], ROOT);
      return r.code === 0 && /productpage-1\s+productpage\.default\s+sotw\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED/.test(r.stdout) ? r : undefined;
    }, 5000);
    expect(status.stdout.split('\n')[0]).toMatch(/^NAME\s+SERVICE\s+PROTOCOL\s+CDS\s+LDS\s+EDS\s+RDS$/);
    console.log(`isthmus proxy-status:\n${status.stdout}`);

    // Edit the watched VirtualService: everyone to v3.
    const vsFile = join(configDir, 'reviews-virtual-service.yaml');
    const edited = readFileSync(vsFile, 'utf8').replace(/subset: v1\}\n\s+weight: 90\n\s+- destination: \{host: reviews, subset: v2\}\n\s+weight: 10/, 'subset: v3}');
    expect(edited).not.toBe(readFileSync(vsFile, 'utf8'));
    const rds = client.version('rds');
    const cds = client.version('cds');
    const editedAt = performance.now();
    writeFileSync(`${vsFile}.tmp`, edited);
    renameSync(`${vsFile}.tmp`, vsFile);
    await eventually('the edited routes', () => client!.version('rds') !== rds, 5000);
    console.log(`file edit -> new routes at the client: ${(performance.now() - editedAt).toFixed(0)} ms (includes the folder watcher)`);
    expect(client.version('cds')).toBe(cds);
    const split = client.resources('rds')[0]!.virtual_hosts.find((v: { name: string }) => v.name === `${REVIEWS}:9080`)
      .routes.find((r: { name: string }) => r.name === 'split');
    expect(split.route.cluster).toBe(`outbound|9080|v3|${REVIEWS}`);

    const routes = isthmus(['proxy-config', 'routes', 'productpage-1', '--control', control], ROOT);
    expect(routes.code).toBe(0);
    expect(routes.stdout).toMatch(new RegExp(`outbound\\s+${REVIEWS.replace(/\./g, '\\.')}:9080\\s+.*split\\s+outbound\\|9080\\|v3\\|`));
    console.log(`isthmus proxy-config routes productpage-1:\n${routes.stdout}`);
    const clustersJson = isthmus(['proxy-config', 'clusters', 'productpage-1', '--control', control, '-o', 'json'], ROOT);
    expect(clustersJson.code).toBe(0);
    expect((JSON.parse(clustersJson.stdout) as { name: string }[]).map((c) => c.name)).toContain(`outbound|9080|v1|${REVIEWS}`);
    const unknown = isthmus(['proxy-config', 'routes', 'nobody', '--control', control], ROOT);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no connected proxy matches "nobody" (connected: productpage-1)');
    // A unique prefix is enough, for proxy-config and proxy-status alike.
    const byPrefix = isthmus(['proxy-config', 'clusters', 'product', '--control', control, '-o', 'json'], ROOT);
    expect(byPrefix.code).toBe(0);
    expect(byPrefix.stdout).toBe(clustersJson.stdout);
    const oneStatus = isthmus(['proxy-status', 'prod', '--control', control], ROOT);
    expect(oneStatus.code).toBe(0);
    expect(oneStatus.stdout.split('\n')[1]).toMatch(/^productpage-1\s+productpage\.default\s+sotw\s+SYNCED/);

    const metrics = await waitFor('a convergence sample', async () => {
      const text = await (await fetch(`${control}/metrics`)).text();
      return /isthmus_xds_convergence_seconds_count [1-9]/.test(text) ? text : undefined;
    }, 5000);
    expect(metrics).toContain('isthmus_xds_connected_proxies 1');
    expect(metrics).toMatch(/isthmus_xds_pushes_total\{type="rds"\} [1-9]/);
    expect(metrics).toMatch(/isthmus_xds_push_duration_seconds_count [1-9]/);
    console.log(metrics.split('\n').filter((l) => l.startsWith('isthmus_xds_convergence_seconds_sum') || l.startsWith('isthmus_xds_convergence_seconds_count')).join('\n'));

    running.child.kill('SIGTERM');
    expect(await running.exited).toBe(0);
  });
});
