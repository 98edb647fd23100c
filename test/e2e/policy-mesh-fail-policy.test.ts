// The mesh-wide fail policy of policy Checks (Istio's meshConfig.policyCheckFailOpen,
// `isthmus control --policy-check-*`): the control plane writes it into every
// sidecar's policy filter, so with the control plane gone a mesh configured
// fail-closed refuses a request its check cache cannot answer (503
// UNAVAILABLE, as Istio's mixer filter answered) after the configured retries,
// while a mesh left at the default lets it pass without retrying.
import { afterEach, describe, expect, it } from 'vitest';
import { configDump, metric } from './harness.js';
import { mixerDoc } from '../support/mixer-config.js';
import { startPolicyMesh, type PolicyMesh } from '../support/policy-mesh.js';

const DENY_BETA = [
  // 60 s: the cached denial must outlive stopping two control planes on a loaded machine (the denier's default is 5 s).
  mixerDoc('handler', 'deny-beta', 'compiledAdapter: denier\nparams:\n  status: { code: 7, message: beta users are not allowed }\n  validDuration: 60s'),
  mixerDoc('instance', 'nothing', 'compiledTemplate: checknothing'),
  mixerDoc('rule', 'deny-beta', 'match: request.headers["x-user"] == "beta"\nactions:\n- handler: deny-beta\n  instances: [nothing]'),
].join('---\n');

// The timeout only bounds the Checks made while the control plane runs (a loaded machine must not fail them);
// once it is stopped, a Check is refused at once.
const FAIL_CLOSED = ['--policy-check-fail-closed', '--policy-check-retries', '2', '--policy-check-retry-wait', '20ms', '--policy-check-max-retry-wait', '50ms', '--policy-check-timeout', '3s'];
/** The default fail policy (open, no retry); only the timeout is longer. */
const DEFAULT_POLICY = ['--policy-check-timeout', '3s'];

let meshes: PolicyMesh[] = [];

afterEach(async () => {
  await Promise.all(meshes.map((m) => m.stop()));
  meshes = [];
});

const stat = async (m: PolicyMesh, name: string): Promise<number> => metric(await m.serverStats(), name) ?? 0;

describe('the mesh-wide fail policy of policy Checks', { timeout: 90_000 }, () => {
  it('with the control plane stopped, a fail-closed mesh refuses (503 UNAVAILABLE) after 2 retries; the default mesh passes without retrying', async () => {
    // One after the other: six processes starting at once are slow to get ready on a loaded machine.
    const closed = await startPolicyMesh({ files: { 'policy.yaml': DENY_BETA }, controlArgs: FAIL_CLOSED });
    meshes.push(closed);
    const open = await startPolicyMesh({ files: { 'policy.yaml': DENY_BETA }, controlArgs: DEFAULT_POLICY });
    meshes.push(open);
    // The sidecar runs the policy filter the control plane wrote, with the mesh's transport in it.
    const filterOf = async (m: PolicyMesh): Promise<unknown> => {
      const listeners = (await configDump(m.server)).bootstrap!.listeners as unknown as { name: string; filterChains: { hcm: { httpFilters: { mixer: unknown } } }[] }[];
      return listeners.find((l) => l.name === 'inbound')!.filterChains[0]!.hcm.httpFilters.mixer;
    };
    expect(await filterOf(closed)).toMatchObject({ failPolicy: 'FAIL_CLOSE', maxRetry: 2, baseRetryWaitMs: 20, maxRetryWaitMs: 50, checkTimeoutMs: 3000 });
    expect(await filterOf(open)).toMatchObject({ failPolicy: 'FAIL_OPEN', maxRetry: 0, baseRetryWaitMs: 80, maxRetryWaitMs: 1000, checkTimeoutMs: 3000 });
    for (const m of meshes) {
      expect((await m.get('/', { 'x-user': 'alpha' })).status).toBe(200);
      expect((await m.get('/', { 'x-user': 'beta' })).status).toBe(403);
    }
    const retriesBefore = [await stat(closed, 'isthmus_mixer_check_rpc_retries_total'), await stat(open, 'isthmus_mixer_check_rpc_retries_total')];
    expect(retriesBefore).toEqual([0, 0]);

    await Promise.all(meshes.map((m) => m.control.stop()));
    // A user never seen before: a cache miss whose Check nobody answers.
    const refused = await closed.get('/', { 'x-user': 'newcomer' });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/^UNAVAILABLE:./);
    expect(await stat(closed, 'isthmus_mixer_fail_closed_total')).toBe(1);
    expect(await stat(closed, 'isthmus_mixer_check_rpc_retries_total')).toBe(2);
    expect(await stat(closed, 'isthmus_mixer_check_rpc_errors_total')).toBe(1);
    // Cached answers still serve: alpha passes and beta is still denied without asking.
    expect((await closed.get('/', { 'x-user': 'alpha' })).status).toBe(200);
    expect((await closed.get('/', { 'x-user': 'beta' })).status).toBe(403);

    const passed = await open.get('/', { 'x-user': 'newcomer' });
    expect(passed.status).toBe(200);
    expect(await stat(open, 'isthmus_mixer_fail_open_total')).toBe(1);
    expect(await stat(open, 'isthmus_mixer_fail_closed_total')).toBe(0);
    expect(await stat(open, 'isthmus_mixer_check_rpc_retries_total')).toBe(0);
  });
});
