// Two VirtualServices for one host, as Istio treats them: the control plane
// accepts both and routes the host by one (namespace, then name); `isthmus
// apply` prints the IST0109 error beside the accepted resource, the status in
// /debug/configz carries it on both, and `isthmus analyze` on the same files
// says the same words and exits 1.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isthmus, startControl, type RunningControl } from './control-harness.js';

const V = 'apiVersion: networking.istio.io/v1beta1';
const SE = `${V}\nkind: ServiceEntry\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  ports: [{number: 9080, name: http, protocol: HTTP}]\n`;
const vs = (name: string) =>
  `${V}\nkind: VirtualService\nmetadata: {name: ${name}}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n`;
const FIX = 'IST0109 ConflictingMeshGatewayVirtualServiceHosts: merge them into one, or give each its own hosts';
const HOST = 'reviews.default.svc.cluster.local';

let control: RunningControl | null = null;
afterEach(async () => {
  await control?.stop('SIGKILL');
  control?.remove();
  control = null;
});

describe('conflicting VirtualServices', { timeout: 30_000 }, () => {
  it('apply accepts both and prints the IST0109 error; configz and analyze say the same', async () => {
    control = await startControl((dir) => writeFileSync(join(dir, 'mesh.yaml'), `${SE}---\n${vs('reviews')}`));
    const meshFile = join(control.configDir, 'mesh.yaml');
    const url = `http://127.0.0.1:${control.adminPort}`;
    const file = join(control.dir, 'canary.yaml');
    writeFileSync(file, vs('canary'));
    const r = isthmus(['apply', '-f', file, '--control', url], control.dir);
    expect(r.code).toBe(0);
    const usedMessage = `spec.hosts[0] ${HOST} is also routed by VirtualService default/reviews (${meshFile}:8), which is ignored for it; this VirtualService is used for that host (${FIX})`;
    expect(r.stdout).toBe(`VirtualService/default/canary created\n  error: api:VirtualService/default/canary:5: ${usedMessage}\n`);

    const z = JSON.parse((await control.admin('/debug/configz')).text) as { resources: { key: string; status: string; warnings: string[] }[] };
    const byKey = new Map(z.resources.map((s) => [s.key, s]));
    expect(byKey.get('VirtualService/default/canary')).toMatchObject({ status: 'accepted', warnings: [`api:VirtualService/default/canary:5: ${usedMessage}`] });
    expect(byKey.get('VirtualService/default/reviews')).toMatchObject({
      status: 'accepted',
      warnings: [`${meshFile}:12: spec.hosts[0] ${HOST} is also routed by VirtualService default/canary (api:VirtualService/default/canary:1), which is used for it; this VirtualService is ignored for that host (${FIX})`],
    });

    // The same two resources, analyzed as files: the same findings, an error, exit 1.
    writeFileSync(join(control.dir, 'canary-copy.yaml'), vs('canary'));
    const a = isthmus(['analyze', meshFile, join(control.dir, 'canary-copy.yaml')], control.dir);
    expect(a.code).toBe(1);
    const lines = a.stdout.trim().split('\n');
    expect(lines).toEqual([
      `${join(control.dir, 'canary-copy.yaml')}:5: ${usedMessage}`,
      `${meshFile}:12: spec.hosts[0] ${HOST} is also routed by VirtualService default/canary (${join(control.dir, 'canary-copy.yaml')}:1), which is used for it; this VirtualService is ignored for that host (${FIX})`,
      '2 errors, 0 warnings (3 valid resources)',
    ]);
  });
});
