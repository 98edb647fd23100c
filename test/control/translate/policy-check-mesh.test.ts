// The mesh-wide fail policy of policy Checks: `isthmus control --policy-check-*`
// (or the same keys in its --config file) checked when the control plane
// starts, and written into the policy filter as a transport the proxy reads
// back exactly (encoded as over ADS, decoded, read).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseControlOptions, type ControlOptions } from '../../../control/control-command.js';
import { loadResourceDir } from '../../../control/config/parse-resources.js';
import { IstioConfigAdapter } from '../../../control/registry/istio-config-adapter.js';
import { ServiceRegistry } from '../../../control/registry/service-registry.js';
import { createMeshConfig, type MeshConfig, type ProxyIdentity } from '../../../control/translate/mesh-config.js';
import { DEFAULT_MESH_POLICY_CHECK, type MeshPolicyCheck } from '../../../control/translate/policy-check-mesh.js';
import { translateInbound } from '../../../control/translate/translate-for-proxy.js';
import { encodeResource } from '../../../control/xds/resource-encoder.js';
import { readListenerObject } from '../../../src/config/parse-resource-object.js';
import { ProtoJson } from '../../../src/xds/proto-json.js';
import { loadXdsProtos, TYPE_URL } from '../../../src/xds/xds-protos.js';
import { tempDir } from '../../e2e/harness.js';
import { FakeClock } from '../registry/fake-clock.js';

const parse = (argv: string[], env: NodeJS.ProcessEnv = {}): ControlOptions => parseControlOptions(argv, env) as ControlOptions;
const SUMMARY = { checkAttributes: ['request.headers'], reportAttributes: [], quotas: [], hasCheckRules: true, hasReportRules: false };
const MESH = fileURLToPath(new URL('../../../examples/mesh', import.meta.url));
const reviews: ProxyIdentity = { id: 'reviews-v1-1', namespace: 'default', service: 'reviews', labels: { app: 'reviews', version: 'v1' }, appPort: 9081 };

/** The policy filter as the proxy reads it from its inbound listener, sent over ADS by a mesh with this setting. */
async function proxyReads(policyCheck?: MeshPolicyCheck) {
  const resources = await loadResourceDir(MESH);
  const registry = new ServiceRegistry({ clock: new FakeClock() });
  const adapter = new IstioConfigAdapter();
  adapter.update(resources);
  adapter.start(registry);
  const config = Object.create(createMeshConfig(resources, policyCheck === undefined ? {} : { policyCheck }), { policySummary: { value: SUMMARY } }) as MeshConfig;
  const listener = translateInbound(reviews, config, registry).listeners[0];
  const protoJson = new ProtoJson(loadXdsProtos().packageDefinition);
  const json = protoJson.resourceToJson({ type_url: TYPE_URL.LISTENER, value: encodeResource(TYPE_URL.LISTENER, listener).bytes });
  const read = readListenerObject(json, 'Listener inbound');
  expect(read.problems).toEqual([]);
  return read.value!.filterChains[0]!.hcm.httpFilters.mixer!;
}

describe('--policy-check-* (Istio\'s meshConfig.policyCheckFailOpen, Check timeout and retries)', () => {
  it('defaults to the proxy\'s own defaults: fail open, 500 ms, no retry', () => {
    expect(parse([]).policyCheck).toEqual(DEFAULT_MESH_POLICY_CHECK);
    expect(DEFAULT_MESH_POLICY_CHECK).toEqual({ failClosed: false, timeoutMs: 500, maxRetry: 0, baseRetryWaitMs: 80, maxRetryWaitMs: 1000 });
  });

  it('reads flags, variables and the --config file', () => {
    expect(parse(['--policy-check-fail-closed', '--policy-check-timeout', '250ms', '--policy-check-retries', '3', '--policy-check-retry-wait', '10ms', '--policy-check-max-retry-wait', '2s']).policyCheck)
      .toEqual({ failClosed: true, timeoutMs: 250, maxRetry: 3, baseRetryWaitMs: 10, maxRetryWaitMs: 2000 });
    expect(parse([], { ISTHMUS_POLICY_CHECK_FAIL_CLOSED: 'true' }).policyCheck.failClosed).toBe(true);
    const dir = tempDir('policy-check-');
    try {
      const file = join(dir.path, 'mesh.yaml');
      writeFileSync(file, 'policyCheckFailClosed: true\npolicyCheckRetries: 2\n');
      expect(parse(['--config', file]).policyCheck).toMatchObject({ failClosed: true, maxRetry: 2 });
      writeFileSync(file, 'policyCheckRetries: many\n');
      expect(() => parse(['--config', file])).toThrow(`${file}: policy-check-retries: expected an integer, got 'many'`);
    } finally {
      dir.remove();
    }
  });

  it('refuses what the proxies would refuse, naming the option', () => {
    expect(() => parse(['--policy-check-retries', '11'])).toThrow('--policy-check-retries: must be between 0 and 10, got 11');
    expect(() => parse(['--policy-check-retries=-1'])).toThrow(/--policy-check-retries: must be between 0 and 10/);
    expect(() => parse(['--policy-check-timeout', '0s'])).toThrow('--policy-check-timeout must be between 1ms and 60s (got 0 ms)');
    expect(() => parse(['--policy-check-timeout', '2m'])).toThrow('--policy-check-timeout must be between 1ms and 60s (got 120000 ms)');
    expect(() => parse(['--policy-check-timeout', 'soon'])).toThrow(/--policy-check-timeout: expected a duration/);
    expect(() => parse(['--policy-check-retry-wait', '2s'])).toThrow('--policy-check-retry-wait (2000 ms) must not be longer than --policy-check-max-retry-wait (1000 ms)');
    expect(() => parse(['--policy-check-max-retry-wait', '90s'])).toThrow('--policy-check-max-retry-wait must be at most 60s (got 90000 ms)');
  });

  it('becomes the policy filter\'s transport, which the proxy reads back as given', async () => {
    expect(await proxyReads()).toMatchObject({ failPolicy: 'FAIL_OPEN', maxRetry: 0, checkTimeoutMs: 500, baseRetryWaitMs: 80, maxRetryWaitMs: 1000, checkCluster: '' });
    expect(await proxyReads(parse(['--policy-check-fail-closed', '--policy-check-timeout', '1500ms', '--policy-check-retries', '4', '--policy-check-retry-wait', '25ms', '--policy-check-max-retry-wait', '400ms']).policyCheck))
      .toMatchObject({ failPolicy: 'FAIL_CLOSE', maxRetry: 4, checkTimeoutMs: 1500, baseRetryWaitMs: 25, maxRetryWaitMs: 400 });
  });
});
