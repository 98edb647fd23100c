// `isthmus analyze` as a user runs it: `node bin/isthmus.js analyze DIR` over
// the compiled dist/ (run `npx tsc -p .` first; npm test does).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'isthmus.js');
const dir = mkdtempSync(join(tmpdir(), 'isthmus-analyze-'));

function isthmus(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 15_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function folder(name: string, files: Record<string, string>): string {
  const path = join(dir, name);
  mkdirSync(path);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(path, file), text);
  return path;
}

const V = 'apiVersion: networking.istio.io/v1beta1';
const SE = `${V}\nkind: ServiceEntry\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  ports: [{number: 9080, name: http, protocol: HTTP}]\n`;
const DR = `${V}\nkind: DestinationRule\nmetadata: {name: reviews}\nspec:\n  host: reviews\n  subsets: [{name: v1, labels: {version: v1}}]\n`;
const VS = `${V}\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v2}\n    - destination: {host: ratings}\n`;

beforeAll(() => {
  expect(existsSync(join(ROOT, 'dist', 'control', 'config', 'analyze-command.js')), 'run `npx tsc -p .` first').toBe(true);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('isthmus analyze', () => {
  it('prints every problem as file:line: message and exits 1 when any is an error', () => {
    const mesh = folder('broken', {
      'a-se.yaml': SE,
      'b-dr.yaml': DR,
      'c-vs.yaml': VS,
      'd-bad.yaml': `${V}\nkind: Sidecar\nmetadata: {name: s}\nspec:\n  egress: [{hosts: ["./*"]}]\n  outboundTrafficPolicy: {mode: REGISTRY_ONLY}\n`,
    });
    const r = isthmus(['analyze', mesh]);
    expect(r.code).toBe(1);
    expect(r.stdout.split('\n')).toEqual([
      `${join(mesh, 'c-vs.yaml')}:8: spec.http[0].route[0].destination.subset "v2" is not defined by DestinationRule default/reviews (${join(mesh, 'b-dr.yaml')}:1; its subsets: v1)`,
      `${join(mesh, 'c-vs.yaml')}:8: spec.http[0].route weights sum to 0 (0 + 0), not 100`,
      `${join(mesh, 'c-vs.yaml')}:9: warning: spec.http[0].route[1].destination.host "ratings" (ratings.default.svc.cluster.local) is not defined by any ServiceEntry (IST0101 ReferencedResourceNotFound; a proxy registering for it would define it)`,
      `${join(mesh, 'd-bad.yaml')}:6: spec.outboundTrafficPolicy is not supported`,
      '3 errors, 1 warning (3 valid resources)',
      '',
    ]);
  });

  it('exits 0 with warnings only', () => {
    const mesh = folder('warnings', { 'dr.yaml': DR });
    const r = isthmus(['analyze', mesh]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dr.yaml:5: warning: spec.host reviews.default.svc.cluster.local is not defined by any ServiceEntry');
    expect(r.stdout).toContain('0 errors, 1 warning (1 valid resource)');
  });

  it('exits 0 and says so on a clean folder, and accepts single files', () => {
    const mesh = folder('clean', { 'mesh.yaml': `${SE}---\n${DR}` });
    const r = isthmus(['analyze', mesh]);
    expect(r).toMatchObject({ code: 0, stdout: 'no problems in 2 resources\n' });
    expect(isthmus(['analyze', join(mesh, 'mesh.yaml')])).toMatchObject({ code: 0, stdout: 'no problems in 2 resources\n' });
  });

  it('reports a missing folder, and a missing argument as a usage error', () => {
    const missing = join(dir, 'no-such-folder');
    const r = isthmus(['analyze', missing]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${missing}: cannot read the folder: ENOENT`);
    const none = isthmus(['analyze']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('needs a folder or file to analyze');
  });

  it('is listed in help and has its own --help', () => {
    expect(isthmus(['help']).stdout).toContain('  analyze');
    const r = isthmus(['analyze', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('analyze');
  });

  it('analyzes examples/mesh clean', () => {
    expect(isthmus(['analyze', join(ROOT, 'examples', 'mesh')])).toMatchObject({ code: 0, stdout: 'no problems in 6 resources\n' });
  });
});
