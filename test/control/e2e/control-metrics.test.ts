// The control plane's own /metrics (issue 16.4) and a sidecar's
// /stats/prometheus, read as Prometheus reads them: a control plane with
// config (one file rejected), a policy with a prometheus handler, a sidecar
// with a workload certificate and a refused CSR. Checked by our own
// parser always and by `promtool check metrics` when it is installed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MixerClient } from '../../../control/mixer/mixer-client.js';
import { admin, waitFor, type RunningProxy } from '../../e2e/harness.js';
import { makeCsr, requestCertificate } from '../../support/ca-client.js';
import { checkExposition, promtoolCheck, sampleValue } from '../../support/prometheus-exposition.js';
import { startControl, startMeshSidecar, type RunningControl } from './control-harness.js';
import { mixerDoc } from '../../support/mixer-config.js';

let control: RunningControl | null = null;
let proxy: RunningProxy | null = null;
let client: MixerClient | null = null;

afterEach(async () => {
  client?.close();
  client = null;
  await proxy?.stop('SIGTERM', 5000);
  proxy = null;
  await control?.stop();
  control?.remove();
  control = null;
});

const SERVICE = `apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: reviews}
spec:
  hosts: [reviews]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}]
  endpoints: [{address: 127.0.0.1, ports: {http: 9081}}]
`;
const BROKEN = 'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: broken}\nspec:\n  hosts: [reviews]\n  http: [{route: [{destination: {host: reviews}, weight: "lots"}]}]\n';
const POLICY = [
  mixerDoc('handler', 'prom', 'compiledAdapter: prometheus\nparams:\n  metrics:\n  - name: requests_total\n    instance_name: requestcount.istio-system\n    kind: COUNTER\n    label_names: [method]'),
  mixerDoc('instance', 'requestcount', 'compiledTemplate: metric\nparams:\n  value: "1"\n  dimensions:\n    method: request.method | "unknown"'),
  mixerDoc('rule', 'prom', 'actions:\n- handler: prom\n  instances: [requestcount]'),
].join('---\n');

/** Envoy's and Istio's own names, kept for their dashboards: counters without _total, a duration in milliseconds. */
const COMPAT_NAME_FINDING = /^(envoy_\S+|isthmus_worker_\S+) counter metrics should have "_total" suffix$|^istio_request_duration_milliseconds use base unit "seconds" instead of "milliseconds"$/;

describe('control plane /metrics', () => {
  it('pushes, convergence, connected proxies, NACKs, config status by kind, CA and policy figures, in a format Prometheus and promtool accept', async () => {
    control = await startControl((dir) => {
      writeFileSync(join(dir, 'service.yaml'), SERVICE);
      writeFileSync(join(dir, 'broken.yaml'), BROKEN);
      writeFileSync(join(dir, 'policy.yaml'), POLICY);
    }, undefined, ['--push-debounce-quiet', '20ms']);
    const c = control;
    proxy = await startMeshSidecar(c, { service: 'productpage' });
    // A refused CSR: a token that is not one.
    const refused = await requestCertificate({ port: c.xdsPort, bearer: 'not-a-token', csr: await makeCsr(['spiffe://cluster.local/ns/default/sa/x']) });
    expect(refused.code).toBe(16); // UNAUTHENTICATED
    client = new MixerClient(c.xdsPort);
    await client.report([{ 'request.method': 'GET' }]);
    await client.check({});
    // A config change after the sidecar is connected: the push it causes and its ACK make a convergence sample.
    await waitFor('the sidecar connected', async () => (/^isthmus_xds_connected_proxies 1$/m.test((await c.admin('/metrics')).text) ? true : null), 20_000);
    writeFileSync(join(c.configDir, 'vs.yaml'), 'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n  http: [{route: [{destination: {host: reviews}}], timeout: 3s}]\n');

    const text = await waitFor('the figures on /metrics', async () => {
      const t = (await c.admin('/metrics')).text;
      const e = checkExposition(t, true);
      return sampleValue(e, 'isthmus_xds_connected_proxies') === 1 && (sampleValue(e, 'isthmus_xds_convergence_seconds_count') ?? 0) > 0
        && /^istio_requests_total\{/m.test(t) ? t : null;
    }, 20_000);
    const e = checkExposition(text, true);
    expect(e.problems).toEqual([]);
    expect(e.types.get('isthmus_xds_pushes_total')).toBe('counter');
    expect(sampleValue(e, 'isthmus_xds_pushes_total', { type: 'lds' })).toBeGreaterThan(0);
    expect(sampleValue(e, 'isthmus_xds_nacks_total', { type: 'lds' })).toBe(0);
    expect(e.types.get('isthmus_xds_convergence_seconds')).toBe('histogram');
    expect(e.types.get('isthmus_xds_push_duration_seconds')).toBe('histogram');
    // Config status by kind: the ServiceEntry accepted, the broken VirtualService rejected.
    expect(sampleValue(e, 'isthmus_control_config_resources', { kind: 'ServiceEntry', status: 'accepted' })).toBe(1);
    expect(sampleValue(e, 'isthmus_control_config_rejected_resources')).toBeGreaterThanOrEqual(1);
    // CA: the sidecar's certificate, the refusal by reason.
    expect(sampleValue(e, 'isthmus_ca_certificates_issued_total')).toBeGreaterThanOrEqual(1);
    expect(sampleValue(e, 'isthmus_ca_csr_refusals_total', { reason: 'UNAUTHENTICATED' })).toBe(1);
    expect(sampleValue(e, 'isthmus_ca_csr_refusals_total', { reason: 'PERMISSION_DENIED' })).toBe(0);
    expect(sampleValue(e, 'isthmus_ca_signing_cert_expiry_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000);
    // Policy: the Check, the Report, and the prometheus handler's own family merged in.
    expect(sampleValue(e, 'isthmus_mixer_checks_total', { service: 'mixer', outcome: 'ok' })).toBe(1);
    expect(sampleValue(e, 'isthmus_mixer_reports_total')).toBe(1);
    // The process itself.
    expect(sampleValue(e, 'process_resident_memory_bytes')).toBeGreaterThan(1e6);
    expect(e.types.get('process_cpu_seconds_total')).toBe('counter');
    const promtool = promtoolCheck(text);
    if (promtool !== null) expect(promtool, promtool.output).toEqual({ code: 0, output: '' });

    // A sidecar's /stats/prometheus: the same format rules; its Envoy/Istio names are promtool's only findings.
    const sidecar = (await admin(proxy, '/stats/prometheus')).body;
    const s = checkExposition(sidecar, false);
    expect(s.problems).toEqual([]);
    expect(s.types.get('istio_requests_total')).toBe('counter');
    const sidecarPromtool = promtoolCheck(sidecar);
    if (sidecarPromtool !== null) {
      expect([0, 3], sidecarPromtool.output).toContain(sidecarPromtool.code); // 3: lint findings only, no parse error
      const findings = sidecarPromtool.output.split('\n').filter((l) => l !== '' && !l.startsWith('error while linting'));
      expect(findings.filter((l) => !COMPAT_NAME_FINDING.test(l))).toEqual([]);
    }
  }, 90_000);
});

describe('the exposition check the test above relies on', () => {
  it('finds what Prometheus or promtool would refuse', () => {
    const problems = (text: string): string[] => checkExposition(text, true).problems;
    expect(problems('# TYPE a_total counter\na_total 1\n')).toEqual([]);
    expect(problems('# TYPE a_total counter\n# TYPE a_total counter\na_total 1\n')).toEqual(['line 2: second TYPE for a_total']);
    expect(problems('# TYPE a counter\na 1\n')).toEqual(['line 1: counter a does not end in _total']);
    expect(problems('a_total{x="1} 1\n')).toHaveLength(1);
    expect(problems('a 1\nb 1\na{x="2"} 2\n')).toEqual(['line 3: samples of a are not together']);
    expect(problems('a{x="1"} 1\na{x="1"} 2\n')).toEqual(['line 2: series a{x=1} twice']);
    expect(problems('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toEqual(['histogram h[] buckets are not cumulative']);
    expect(problems('# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n')).toContain('histogram h[] has no +Inf bucket');
    expect(problems('a_total 1')).toEqual(['the text does not end with a newline']);
  });
});
