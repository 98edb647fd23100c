// Ctrl-C while `isthmus up` waits for its sidecars to learn every endpoint
// (examples/up/endpoint-convergence.ts) stops the demo at once. The wait used
// to go on polling the sidecars being stopped until its 60 s ran out, print a
// warning that each of them still had no endpoint, then poll the app URL for
// two minutes more before the process exited. A Sidecar resource scoping
// ratings' egress to a host that does not exist keeps the wait from
// converging (ratings' sidecar then has no outbound cluster at all, which the
// wait takes for a sidecar with no config yet), so the signal surely arrives
// during it.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processTree } from '../../bench/process-sampler.js';
import { missingEndpoints } from '../../examples/up/endpoint-convergence.js';
import { planPorts } from '../../examples/up/port-plan.js';
import { waitFor } from './harness.js';
import { bookinfoCopy, freeDemoPorts, isAlive, startUpDemo } from './up-demo.js';

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

describe('isthmus up, stopped while it waits for the endpoints', () => {
  it('exits within seconds on SIGINT, with no warning about endpoints and no child left', async () => {
    const configDir = bookinfoCopy('isthmus-up-signal-');
    temps.push(configDir);
    writeFileSync(join(configDir, 'ratings-sidecar.yaml'), [
      'apiVersion: networking.istio.io/v1beta1', 'kind: Sidecar', 'metadata: {name: ratings, namespace: default}', 'spec:',
      '  workloadSelector: {labels: {app: ratings}}', '  egress:', '  - hosts: ["./nothing.default.svc.cluster.local"]', '',
    ].join('\n'));

    const from = await freeDemoPorts();
    const plan = planPorts(from);
    const up = startUpDemo(['--no-traffic', '--ports-from', String(from), '--config-dir', configDir]);
    const demo = up.process;
    let seen = '';
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    try {
      // Every sidecar is ready (its /ready: it serves the control plane's config) and ratings' misses workloads: the
      // demo is in its endpoint wait (the pipe carrying a ready line may lag its /ready a little: 2 s more).
      await waitFor('every sidecar ready, ratings\' missing workloads', async () => {
        if (demo.exitCode !== null) throw new Error(`isthmus up exited early:\n${up.output()}`);
        for (const w of plan.workloads) {
          const res = await fetch(`http://127.0.0.1:${w.admin}/ready`, { signal: AbortSignal.timeout(5000) });
          await res.text();
          if (res.status !== 200) return null;
        }
        const missing = await missingEndpoints(plan);
        seen = JSON.stringify(missing);
        return missing.some((m) => m.sidecar === 'ratings-v1 sidecar') ? true : null;
      }, 120_000).catch((err: Error) => {
        throw new Error(`${err.message}; last seen ${seen}; output:\n${up.output()}`);
      });
      await new Promise((r) => setTimeout(r, 2000));
      expect(up.output(), up.output()).not.toContain('App:');
      const children = processTree(demo.pid!).filter((pid) => pid !== demo.pid);
      expect(children.length).toBeGreaterThanOrEqual(13);

      const signalled = Date.now();
      demo.kill('SIGINT');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running after 25 s'), 25_000))]);
      expect(code, up.output()).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(25_000);
      expect(up.output()).toContain('SIGINT: stopping the demo...');
      expect(up.output()).not.toMatch(/still no endpoint|admin port does not answer|did not answer through the sidecars/);
      await waitFor('every child gone', async () => (children.every((pid) => !isAlive(pid)) ? true : null), 5000).catch(() => undefined);
      expect(children.filter(isAlive)).toEqual([]);
    } finally {
      if (demo.exitCode === null) demo.kill('SIGKILL');
    }
  }, 200_000);
});
