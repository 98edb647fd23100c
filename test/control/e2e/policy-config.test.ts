// Mixer's policy kinds through a real control plane and the CLI: the watched
// folder's handler/instance/rule are served; `isthmus apply` of a rule with a
// malformed match is refused with its line and column and changes nothing; a
// rule file edited into a bad state keeps serving its last accepted version;
// `isthmus analyze` reports the same position and a reference to nothing.
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { isthmus, startControl, waitFor, type RunningControl } from './control-harness.js';

const FIXTURES = fileURLToPath(new URL('../config/fixtures/policy', import.meta.url));
const V = 'apiVersion: config.istio.io/v1alpha2';

interface Status {
  key: string;
  status: string;
  reason?: string;
  serving: string;
}

async function configz(c: RunningControl): Promise<{ revision: number; resources: Status[] }> {
  const r = await c.admin('/debug/configz');
  expect(r.status).toBe(200);
  return JSON.parse(r.text) as { revision: number; resources: Status[] };
}

let control: RunningControl | null = null;
afterEach(async () => {
  await control?.stop('SIGKILL');
  control?.remove();
  control = null;
});

describe('policy resources in the control plane', { timeout: 30_000 }, () => {
  it('refuses a malformed match with its position, and the earlier rules keep being served', async () => {
    control = await startControl((dir) => copyFileSync(join(FIXTURES, 'deny-bad-user.yaml'), join(dir, 'deny.yaml')));
    const url = `http://127.0.0.1:${control.adminPort}`;
    const served = await configz(control);
    expect(served.resources.map((s) => `${s.key} ${s.status}`)).toEqual([
      'handler/istio-system/denyall accepted', 'instance/istio-system/denyrequest accepted', 'rule/istio-system/deny-mallory accepted',
    ]);

    // A new rule whose match misspells an attribute: refused as a whole, naming the line and the column.
    const bad = join(control.dir, 'bad-rule.yaml');
    writeFileSync(bad, `${V}\nkind: rule\nmetadata: {name: deny-admin, namespace: istio-system}\nspec:\n  match: request.method == "POST" && request.pth.startsWith("/admin")\n  actions:\n  - {handler: denyall, instances: [denyrequest]}\n`);
    let r = isthmus(['apply', '-f', bad, '--control', url, '--data-dir', control.dataDir], control.dir);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe([
      'rule/istio-system/deny-admin rejected:',
      `  ${bad}:5: error: spec.match at column 29: unknown attribute 'request.pth' (did you mean 'request.path'?)`,
      '',
    ].join('\n'));
    expect(await configz(control)).toEqual(served);

    // The watched rule edited into a bad state: rejected with the position, its last accepted version still served.
    const file = join(control.configDir, 'deny.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(`${file}.tmp`, good.replace('request.method == "POST"', 'request.method = "POST"'));
    renameSync(`${file}.tmp`, file);
    const rule = await waitFor('the bad edit to reach configz', async () => {
      const s = (await configz(control!)).resources.find((x) => x.key === 'rule/istio-system/deny-mallory');
      return s?.status === 'rejected' ? s : null;
    });
    expect(rule.serving).toBe('last-accepted');
    expect(rule.reason).toBe(`${file}:30: spec.match at column 59: '=' is not an operator: write '==' to compare`);

    // A good rule applies beside it.
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('request.pth', 'request.path'));
    r = isthmus(['apply', '-f', bad, '--control', url, '--data-dir', control.dataDir], control.dir);
    expect(r.stdout).toBe('rule/istio-system/deny-admin created\n');
    expect(r.code).toBe(0);
  });

  it('isthmus analyze reports a bad expression at its column and a rule naming a missing handler', () => {
    const target = mkdtempSync(join(tmpdir(), 'isthmus-policy-analyze-'));
    onTestFinished(() => rmSync(target, { recursive: true, force: true }));
    copyFileSync(join(FIXTURES, 'deny-bad-user.yaml'), join(target, 'a.yaml'));
    writeFileSync(join(target, 'b.yaml'), [
      `${V}\nkind: rule\nmetadata: {name: r1, namespace: istio-system}\nspec:\n  match: source.ip in ip("10.0.0.0/33")\n  actions:\n  - {handler: denyall, instances: [denyrequest]}`,
      `${V}\nkind: rule\nmetadata: {name: r2, namespace: istio-system}\nspec:\n  actions:\n  - {handler: denyal, instances: [denyrequest]}`,
    ].join('\n---\n'));
    const r = isthmus(['analyze', target], target);
    expect(r.stdout).toBe([
      `${join(target, 'b.yaml')}:5: spec.match at column 17: ip("10.0.0.0/33"): '/33' is not a prefix length for IPv4 (0-32)`,
      `${join(target, 'b.yaml')}:14: spec.actions[0].handler "denyal" names no handler (looked for denyal.istio-system; handlers: denyall.istio-system); this action is skipped`,
      '2 errors, 0 warnings (4 valid resources)',
      '',
    ].join('\n'));
    expect(r.code).toBe(1);
  });
});
