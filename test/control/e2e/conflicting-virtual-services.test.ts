// Two VirtualServices for one host, as Istio treats them: the control plane
// accepts both and routes the host by one (the one it has served longest,
// then the first by namespace and name); /debug/configz carries the IST0109
// error on both in the very words `isthmus analyze` prints for the same
// files (which exits 1), and `isthmus apply` prints it beside the accepted
// resource. A VirtualService applied later does not take the host away.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isthmus, startControl, type RunningControl } from './control-harness.js';

const V = 'apiVersion: networking.istio.io/v1beta1';
const SE = `${V}\nkind: ServiceEntry\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  ports: [{number: 9080, name: http, protocol: HTTP}]\n`;
const vs = (name: string) =>
  `${V}\nkind: VirtualService\nmetadata: {name: ${name}}\nspec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews}\n`;
const FIX = 'IST0109 ConflictingMeshGatewayVirtualServiceHosts: the VirtualService served longest, then the first by namespace and name, '
  + 'routes a host; merge them into one, or give each its own hosts';
const HOST = 'reviews.default.svc.cluster.local';

interface Status { key: string; status: string; warnings: string[] }

let control: RunningControl | null = null;
afterEach(async () => {
  await control?.stop('SIGKILL');
  control?.remove();
  control = null;
});

describe('conflicting VirtualServices', { timeout: 30_000 }, () => {
  it('are accepted with the IST0109 error that analyze prints; apply shows it; a later one does not take the host', async () => {
    control = await startControl((dir) => {
      writeFileSync(join(dir, 'mesh.yaml'), SE);
      writeFileSync(join(dir, 'reviews.yaml'), vs('reviews'));
      writeFileSync(join(dir, 'canary.yaml'), vs('canary'));
    });
    const canaryFile = join(control.configDir, 'canary.yaml');
    const reviewsFile = join(control.configDir, 'reviews.yaml');
    const usedLine = `${canaryFile}:5: spec.hosts[0] ${HOST} is also routed by VirtualService default/reviews (${reviewsFile}:1), which is ignored for it; this VirtualService is used for that host (${FIX})`;
    const ignoredLine = `${reviewsFile}:5: spec.hosts[0] ${HOST} is also routed by VirtualService default/canary (${canaryFile}:1), which is used for it; this VirtualService is ignored for that host (${FIX})`;

    const statuses = async (): Promise<Map<string, Status>> =>
      new Map((JSON.parse((await control!.admin('/debug/configz')).text) as { resources: Status[] }).resources.map((s) => [s.key, s]));
    let z = await statuses();
    expect(z.get('VirtualService/default/canary')).toMatchObject({ status: 'accepted', warnings: [usedLine] });
    expect(z.get('VirtualService/default/reviews')).toMatchObject({ status: 'accepted', warnings: [ignoredLine] });

    // The same files, analyzed: the same words, as errors; exit 1.
    const a = isthmus(['analyze', control.configDir], control.dir);
    expect(a.code).toBe(1);
    expect(a.stdout).toBe(`${usedLine}\n${ignoredLine}\n2 errors, 0 warnings (3 valid resources)\n`);

    // Applied later, first by name, yet the host stays with the VirtualService already serving it.
    const file = join(control.dir, 'aaa.yaml');
    writeFileSync(file, vs('aaa'));
    const r = isthmus(['apply', '-f', file, '--control', `http://127.0.0.1:${control.adminPort}`, '--data-dir', control.dataDir], control.dir);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe([
      'VirtualService/default/aaa created',
      `  ${file}:5: error: spec.hosts[0] ${HOST} is also routed by VirtualService default/canary (${canaryFile}:1), which is used for it; this VirtualService is ignored for that host (${FIX})`,
      '',
    ].join('\n'));
    z = await statuses();
    expect(z.get('VirtualService/default/aaa')?.status).toBe('accepted');
    expect(z.get('VirtualService/default/canary')?.warnings).toHaveLength(2);
  });
});
