// The control plane's policy runtime end to end: `isthmus control` with
// handler / instance / rule resources in its config folder, and real gRPC
// clients of isthmus.mixer.v1.Mixer and Envoy's ext_authz Authorization.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Client, credentials } from '@grpc/grpc-js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControl, waitFor, type RunningControl } from './control-harness.js';
import { MixerClient, durationMs, referenced } from '../../../control/mixer/mixer-client.js';
import { mixerDoc } from '../../support/mixer-config.js';
import { unaryCall } from '../../support/grpc-unary.js';
import { mixerServiceDefinition } from '../../../control/mixer/mixer-protos.js';
import { encodeAttributes } from '../../../control/mixer/attribute-message.js';

let control: RunningControl | null = null;
let client: MixerClient | null = null;
const temps: string[] = [];

/** A plug-in adapter (isthmus control --policy-adapter) whose handler blocks its pool thread for blockMs per Check. */
const SLOW_ADAPTER = `export default {
  name: 'slowpoke',
  templates: ['checknothing'],
  parseParams(raw) {
    const blockMs = Number(raw?.blockMs);
    if (!Number.isInteger(blockMs) || blockMs < 0) throw new Error('blockMs must be a whole number of milliseconds');
    return { blockMs };
  },
  createHandler(params) {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    return {
      check() {
        Atomics.wait(cell, 0, 0, params.blockMs);
        return { code: 0, message: '', validDurationMs: 1000, validUseCount: 1 };
      },
      close() {},
    };
  },
};
`;

afterEach(async () => {
  client?.close();
  client = null;
  await control?.stop();
  control?.remove();
  control = null;
  for (const t of temps.splice(0)) rmSync(t, { force: true });
});

const DENY_BETA = [
  mixerDoc('handler', 'deny-beta', 'compiledAdapter: denier\nparams:\n  status: { code: 7, message: beta users are not allowed }\n  validDuration: 7s\n  validUseCount: 42'),
  mixerDoc('instance', 'nothing', 'compiledTemplate: checknothing'),
  mixerDoc('rule', 'deny-beta', 'match: request.headers["x-user"] == "beta"\nactions:\n- handler: deny-beta\n  instances: [nothing]'),
].join('---\n');

async function start(files: Record<string, string>, args: readonly string[] = []): Promise<{ control: RunningControl; client: MixerClient }> {
  control = await startControl((dir) => {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  }, undefined, args);
  client = new MixerClient(control.xdsPort);
  return { control, client };
}

describe('isthmus control: Mixer Check and Report', { timeout: 60_000 }, () => {
  it('a denier rule on a header denies only matching requests; the answer names the header read, and its ABSENCE', async () => {
    const { client } = await start({ 'policy.yaml': DENY_BETA });
    const denied = await client.check({ 'request.headers': { 'x-user': 'beta' }, 'request.path': '/' });
    expect(denied.precondition.status.code).toBe(7);
    expect(denied.precondition.status.message).toBe('beta users are not allowed');
    expect(referenced(denied)).toEqual(['request.headers[x-user]:EXACT']);
    expect(durationMs(denied.precondition.valid_duration)).toBe(7000);
    expect(denied.precondition.valid_use_count).toBe(42);

    const allowed = await client.check({ 'request.headers': { 'x-user': 'alpha' } });
    expect(allowed.precondition.status.code ?? 0).toBe(0);
    expect(referenced(allowed)).toEqual(['request.headers[x-user]:EXACT']);

    const absent = await client.check({ 'request.headers': { 'x-other': 'beta' } });
    expect(absent.precondition.status.code ?? 0).toBe(0);
    expect(referenced(absent)).toEqual(['request.headers[x-user]:ABSENCE']);

    // The same service on the TLS port (15012), beside the CA.
    const securePort = (control!.lines.find((l) => l.msg === 'control ready')!.secureXds as { port: number }).port;
    const tls = new MixerClient(securePort, credentials.createSsl(readFileSync(join(control!.dataDir, 'root-cert.pem'))));
    try {
      expect((await tls.check({ 'request.headers': { 'x-user': 'beta' } })).precondition.status.code).toBe(7);
    } finally {
      tls.close();
    }
  });

  it('memquota over Check quotas: RESOURCE_EXHAUSTED after N per window per dimension, then recovers', async () => {
    const quota = [
      mixerDoc('handler', 'quota', 'compiledAdapter: memquota\nparams:\n  quotas:\n  - name: requestcount.istio-system\n    maxAmount: 3\n    validDuration: 2s'),
      mixerDoc('instance', 'requestcount', 'compiledTemplate: quota\nparams:\n  dimensions:\n    user: request.headers["x-user"] | "anonymous"'),
      mixerDoc('rule', 'quota', 'actions:\n- handler: quota\n  instances: [requestcount]'),
    ].join('---\n');
    const { client } = await start({ 'quota.yaml': quota });
    const ask = async (user: string) => (await client.check({ 'request.headers': { 'x-user': user } }, { 'requestcount.istio-system': 1 })).quotas!['requestcount.istio-system']!;
    for (let i = 0; i < 3; i++) {
      const granted = await ask('a');
      expect(granted.status?.code ?? 0).toBe(0);
      expect(granted.granted_amount).toBe(1);
    }
    const refused = await ask('a');
    expect(refused.status?.code).toBe(8);
    expect(refused.granted_amount ?? 0).toBe(0);
    // Another dimension value has its own window.
    expect((await ask('b')).granted_amount).toBe(1);
    await waitFor('the window to roll', async () => (await ask('a')).granted_amount === 1, 6000);
  });

  it('Report reaches a prometheus handler and its metric shows on /metrics beside the runtime\'s counters', async () => {
    const metrics = [
      mixerDoc('handler', 'prom', 'compiledAdapter: prometheus\nparams:\n  metrics:\n  - name: request_count\n    instance_name: requestcount.istio-system\n    kind: COUNTER\n    label_names: [method]'),
      mixerDoc('instance', 'requestcount', 'compiledTemplate: metric\nparams:\n  value: "1"\n  dimensions:\n    method: request.method | "unknown"'),
      mixerDoc('rule', 'prom', 'actions:\n- handler: prom\n  instances: [requestcount]'),
    ].join('---\n');
    const { control, client } = await start({ 'metrics.yaml': metrics });
    await client.report([{ 'request.method': 'GET' }, { 'request.method': 'GET' }, { 'request.method': 'POST' }]);
    const text = await waitFor('the metric on /metrics', async () => {
      const r = await control.admin('/metrics');
      return /request_count\{[^}]*method="GET"[^}]*\} 2\b/.test(r.text) ? r.text : null;
    });
    expect(text).toMatch(/request_count\{[^}]*method="POST"[^}]*\} 1\b/);
    expect(text).toMatch(/^isthmus_mixer_reports_total 3$/m);
    expect(text).toMatch(/^isthmus_mixer_report_batches_dropped_total 0$/m);
    // A batch past the bound is refused whole, naming the bound.
    await expect(client.report(Array.from({ length: 10_001 }, () => ({ 'request.method': 'GET' })))).rejects.toMatchObject({ code: 3, details: expect.stringContaining('at most 10000') });
    await client.check({});
    const after = (await control.admin('/metrics')).text;
    expect(after).toMatch(/^isthmus_mixer_checks_total\{service="mixer",outcome="ok"\} 1$/m);
    expect(after).toMatch(/^isthmus_mixer_check_duration_seconds_count 1$/m);
  });

  it('a slow adapter (a plug-in whose handler blocks its thread) does not delay Checks for other rules', async () => {
    const plugin = join(tmpdir(), `isthmus-slow-adapter-${process.pid}-${Date.now()}.mjs`);
    temps.push(plugin);
    writeFileSync(plugin, SLOW_ADAPTER);
    const slow = [
      mixerDoc('handler', 'slow', 'compiledAdapter: slowpoke\nparams: { blockMs: 1500 }'),
      mixerDoc('rule', 'slow', 'match: request.path == "/slow"\nactions:\n- handler: slow\n  instances: [nothing]'),
    ].join('---\n');
    const { client } = await start({ 'policy.yaml': DENY_BETA, 'slow.yaml': slow }, ['--policy-adapter', plugin, '--policy-threads', '2']);
    const first = await client.check({ 'request.path': '/slow' });
    expect(first.precondition.status.code ?? 0).toBe(0); // the plug-in's handler answered (after blocking)
    let slowAnswered = 0;
    const slowChecks = [1, 2].map(() => client.check({ 'request.path': '/slow' }).then(() => slowAnswered++));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const fast = await client.check({ 'request.path': '/fast', 'request.headers': { 'x-user': 'beta' } });
    expect(fast.precondition.status.code).toBe(7);
    expect(slowAnswered).toBe(0); // answered while the slow handler's thread was still blocked
    expect(Date.now() - started).toBeLessThan(1000);
    await Promise.all(slowChecks);
  });

  it('ext_authz Check through Envoy\'s proto gives the same decision as the Mixer Check for the same attributes', async () => {
    const { client } = await start({ 'policy.yaml': DENY_BETA });
    const context = (user: string) => ({
      source: { address: { socket_address: { address: '10.1.2.3', port_value: 40000 } }, principal: 'spiffe://cluster.local/ns/default/sa/client' },
      destination: { address: { socket_address: { address: '10.1.2.4', port_value: 8080 } } },
      request: { http: { method: 'GET', path: '/items?x=1', host: 'shop.default', scheme: 'http', headers: { 'x-user': user, 'user-agent': 'test' }, size: 0 } },
    });
    const deniedAuthz = await client.extAuthz(context('beta'));
    const deniedMixer = await client.check({ 'request.headers': { 'x-user': 'beta' }, 'request.method': 'GET', 'request.path': '/items?x=1', 'source.ip': '10.1.2.3' });
    expect(deniedAuthz.status?.code).toBe(7);
    expect(deniedAuthz.status?.code).toBe(deniedMixer.precondition.status.code);
    expect(deniedAuthz.status?.message).toBe(deniedMixer.precondition.status.message);
    expect(Number(deniedAuthz.denied_response?.status?.code === 'Forbidden' ? 403 : deniedAuthz.denied_response?.status?.code)).toBe(403);
    const okAuthz = await client.extAuthz(context('alpha'));
    expect(okAuthz.status?.code ?? 0).toBe(0);
    expect(okAuthz.ok_response).toBeDefined();
    expect((await client.check({ 'request.headers': { 'x-user': 'alpha' } })).precondition.status.code ?? 0).toBe(0);
  });

  it('ext_authz through Envoy\'s proto and the Mixer Check decide alike on the peer identity, the destination service and the source workload', async () => {
    // shop's endpoint and the client's workload, as the registry knows them.
    const mesh = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: shop, namespace: default}
spec:
  hosts: [shop.default.svc.cluster.local]
  ports: [{number: 8080, name: http, protocol: HTTP}]
  location: MESH_INTERNAL
  resolution: STATIC
  endpoints: [{address: 10.1.2.4, labels: {app: shop}, serviceAccount: shop}]
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: client-1, namespace: default}
spec: {address: 10.1.2.3, labels: {app: client, tier: front}, serviceAccount: client}
`;
    const rules = ([
      ['p', 'source.principal == "cluster.local/ns/default/sa/client"'],
      ['n', 'source.namespace == "default"'],
      ['d', 'destination.service.name == "shop" && destination.service.namespace == "default"'],
      ['w', 'source.labels["tier"] == "front" && source.workload.name == "client"'],
    ] as const).map(([user, match]) => mixerDoc('rule', `deny-${user}`, `match: request.headers["x-user"] == "${user}" && ${match}\nactions:\n- handler: deny-beta\n  instances: [nothing]`));
    const { client } = await start({ 'policy.yaml': [DENY_BETA, ...rules].join('---\n'), 'mesh.yaml': mesh });
    const spiffe = (sa: string): string => `spiffe://cluster.local/ns/default/sa/${sa}`;
    // A plain Envoy: only the standard fields (the peer addresses and the certificate's URI SAN).
    const envoy = (user: string, sa: string) => ({
      source: { address: { socket_address: { address: '10.1.2.3', port_value: 40000 } }, principal: spiffe(sa) },
      destination: { address: { socket_address: { address: '10.1.2.4', port_value: 8080 } } },
      request: { http: { method: 'GET', path: '/items', host: 'shop', scheme: 'http', headers: { 'x-user': user } } },
    });
    // What the sidecar's Mixer filter sends for the same request (its statics and SPIFFE reading).
    const mixer = (user: string, sa: string) => ({
      'request.headers': { 'x-user': user }, 'source.ip': '10.1.2.3', 'source.principal': `cluster.local/ns/default/sa/${sa}`, 'source.namespace': 'default',
      'destination.service.name': 'shop', 'destination.service.namespace': 'default', 'destination.service.host': 'shop.default.svc.cluster.local',
    });
    const decisions = async (user: string, sa: string): Promise<[number, number]> => [
      (await client.extAuthz(envoy(user, sa))).status?.code ?? 0,
      (await client.check(mixer(user, sa))).precondition.status.code ?? 0,
    ];
    for (const user of ['p', 'n', 'd', 'w']) expect(await decisions(user, 'client'), user).toEqual([7, 7]);
    // Another identity: the principal and workload rules pass on both paths; the namespace and destination still deny.
    expect(await decisions('p', 'stranger')).toEqual([0, 0]);
    expect(await decisions('w', 'stranger')).toEqual([0, 0]);
    expect(await decisions('n', 'stranger')).toEqual([7, 7]);
    expect(await decisions('x', 'client')).toEqual([0, 0]);
    // The answer a workload rule gave depends on what the proxy sent (its cache key), not on names it never has.
    const byWorkload = referenced(await client.check(mixer('w', 'client')));
    expect(byWorkload).toEqual(expect.arrayContaining(['source.ip:EXACT', 'source.principal:EXACT']));
    expect(byWorkload.filter((r) => r.startsWith('source.labels') || r.startsWith('source.workload'))).toEqual([]);
    // An Envoy route's context_extensions name the destination where the registry has no endpoint at that address.
    const elsewhere = { ...envoy('d', 'client'), destination: { address: { socket_address: { address: '10.9.9.9', port_value: 80 } } } };
    expect((await client.extAuthz(elsewhere)).status?.code ?? 0).toBe(0);
    const named = { ...elsewhere, context_extensions: { 'destination.service.name': 'shop', 'destination.service.namespace': 'default' } };
    expect((await client.extAuthz(named)).status?.code ?? 0).toBe(7);
  });

  it('ext_authz clients sending many distinct huge principals to a rule on source.labels do not grow the control plane: the workload memo keeps no such key', async () => {
    const rule = mixerDoc('rule', 'deny-front', 'match: source.labels["tier"] == "front"\nactions:\n- handler: deny-beta\n  instances: [nothing]');
    const workload = 'apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: client-1, namespace: default}\nspec: {address: 10.1.2.3, labels: {app: client, tier: front}, serviceAccount: client}\n';
    const { control, client } = await start({ 'policy.yaml': [DENY_BETA, rule].join('---\n'), 'mesh.yaml': workload });
    const context = (principal: string) => ({
      source: { address: { socket_address: { address: '10.1.2.3', port_value: 40000 } }, principal },
      destination: { address: { socket_address: { address: '10.1.2.4', port_value: 8080 } } },
      request: { http: { method: 'GET', path: '/', host: 'shop', scheme: 'http', headers: {} } },
    });
    expect((await client.extAuthz(context('spiffe://cluster.local/ns/default/sa/client'))).status?.code).toBe(7);
    const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${control.child.pid}/status`, 'utf8'))![1]) * 1024;
    const before = rss();
    // 400 distinct 1 MB principals (a SPIFFE ID is at most 2 KB): kept, they held 400 MB (measured before the bound); garbage, about 100 MB.
    const filler = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 400; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => client.extAuthz(context(`spiffe://cluster.local/ns/default/sa/${i + j}-${filler}`)));
      for (const answer of await Promise.all(batch)) expect(answer.status?.code ?? 0).toBe(0);
    }
    const grown = rss() - before;
    expect(grown, `the control plane grew by ${Math.round(grown / 1e6)} MB`).toBeLessThan(250e6);
    expect((await client.extAuthz(context('spiffe://cluster.local/ns/default/sa/client'))).status?.code).toBe(7);
  });

  it('an ext_authz principal of 3.5 MB of slashes costs the control plane what one of letters does (decoding), not seconds of splitting', async () => {
    const rule = mixerDoc('rule', 'deny-front', 'match: source.labels["tier"] == "front"\nactions:\n- handler: deny-beta\n  instances: [nothing]');
    const { control, client } = await start({ 'policy.yaml': [DENY_BETA, rule].join('---\n') });
    const context = (principal: string, user: string) => ({
      source: { address: { socket_address: { address: '10.1.2.3', port_value: 40000 } }, principal },
      destination: { address: { socket_address: { address: '10.1.2.4', port_value: 8080 } } },
      request: { http: { method: 'GET', path: '/', host: 'shop', scheme: 'http', headers: { 'x-user': user } } },
    });
    // utime + stime of the control process, in clock ticks (load on the machine does not add to it).
    const cpuTicks = (): number => {
      const fields = readFileSync(`/proc/${control.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(fields[11]) + Number(fields[12]);
    };
    const cost = async (principal: string): Promise<number> => {
      const before = cpuTicks();
      for (let i = 0; i < 6; i++) expect((await client.extAuthz(context(principal, 'beta'))).status?.code).toBe(7);
      return cpuTicks() - before;
    };
    const size = 3.5 * 1024 * 1024;
    const letters = await cost(`spiffe://td/${'a'.repeat(size)}`);
    const slashes = await cost(`spiffe://td${'/'.repeat(size)}`);
    // Split at every slash, each of its four reads (namespace and account, twice) took about 100 ms more.
    expect(slashes, `6 Checks: ${slashes} ticks of CPU with slashes, ${letters} with letters`).toBeLessThan(letters * 2 + 30);
    expect((await client.extAuthz(context('spiffe://cluster.local/ns/default/sa/client', 'alpha'))).status?.code ?? 0).toBe(0);
  });

  it('a WorkloadEntry that no service selects, applied or changed on a running control plane, changes the source workload a Check sees', async () => {
    const rule = mixerDoc('rule', 'deny-front', 'match: source.labels["tier"] == "front"\nactions:\n- handler: deny-beta\n  instances: [nothing]');
    const entry = (address: string, tier: string): string =>
      `apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: {name: client-1, namespace: default}\nspec: {address: ${address}, labels: {app: client, tier: ${tier}}, serviceAccount: client}\n`;
    const { control, client } = await start({ 'policy.yaml': [DENY_BETA, rule].join('---\n'), 'mesh.yaml': entry('10.1.2.3', 'front') });
    const code = async (ip: string): Promise<number> => (await client.check({ 'source.ip': ip })).precondition.status.code ?? 0;
    expect(await code('10.1.2.3')).toBe(7);
    expect(await code('10.1.2.9')).toBe(0);
    // Moved to another address: the old one names no workload any more, the new one does.
    expect((await control.admin('/apply', entry('10.1.2.9', 'front'))).status).toBe(200);
    await waitFor('the moved workload denied', async () => (await code('10.1.2.9')) === 7, 5000);
    expect(await code('10.1.2.3')).toBe(0);
    // Relabelled: no longer front.
    expect((await control.admin('/apply', entry('10.1.2.9', 'back'))).status).toBe(200);
    await waitFor('the relabelled workload allowed', async () => (await code('10.1.2.9')) === 0, 5000);
  });

  it('a malformed expression applied to a running control plane is refused with its position; the old rules keep answering; a good change applies at once', async () => {
    const { control, client } = await start({ 'policy.yaml': DENY_BETA });
    expect((await client.check({ 'request.headers': { 'x-user': 'beta' } })).precondition.status.code).toBe(7);
    const bad = mixerDoc('rule', 'deny-beta', 'match: request.headers["x-user"] == == "beta"\nactions:\n- handler: deny-beta\n  instances: [nothing]');
    const refused = await control.admin('/apply', bad);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.text).toMatch(/position|column|offset/i);
    expect((await client.check({ 'request.headers': { 'x-user': 'beta' } })).precondition.status.code).toBe(7);
    const changed = mixerDoc('rule', 'deny-beta', 'match: request.headers["x-user"] == "gamma"\nactions:\n- handler: deny-beta\n  instances: [nothing]');
    expect((await control.admin('/apply', changed)).status).toBe(200);
    await waitFor('the new rule in force', async () => (await client.check({ 'request.headers': { 'x-user': 'gamma' } })).precondition.status.code === 7, 5000);
    expect((await client.check({ 'request.headers': { 'x-user': 'beta' } })).precondition.status.code ?? 0).toBe(0);
  });
  it('Reports reach a stdio handler on the pool as exact JSON lines; malformed or oversized Reports are refused and change nothing', async () => {
    const logPath = join(tmpdir(), `isthmus-stdio-e2e-${process.pid}-${Date.now()}.log`);
    temps.push(logPath);
    const telemetry = [
      mixerDoc('handler', 'console', `compiledAdapter: stdio\nparams: { logStream: FILE, outputPath: ${JSON.stringify(logPath)} }`),
      mixerDoc('instance', 'accesslog', 'compiledTemplate: logentry\nparams:\n  severity: conditional(response.code >= 500, "Error", "Info")\n  timestamp: request.time\n  variables: { path: request.path | "", latency: response.duration | duration("0s"), ip: source.ip, headers: request.headers }'),
      mixerDoc('rule', 'log', 'match: context.protocol == "http"\nactions:\n- handler: console\n  instances: [accesslog]'),
    ].join('---\n');
    const { control, client } = await start({ 'telemetry.yaml': telemetry });
    const raw = new Client(`127.0.0.1:${control.xdsPort}`, credentials.createInsecure());
    try {
      const encode = (entries: unknown[]): Buffer => mixerServiceDefinition().Report!.requestSerialize({ attributes: entries }) as Buffer;
      const good = encode([encodeAttributes({ 'context.protocol': 'http', 'request.path': '/bad', 'response.code': 200 })]);
      for (const body of [good.subarray(0, good.length - 3), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), Buffer.from([0xff, 0xff])]) {
        const r = await unaryCall(raw, '/isthmus.mixer.v1.Mixer/Report', body);
        expect(r.err?.code).toBe(13); // INTERNAL: the request could not be read
      }
      await expect(client.report(Array.from({ length: 10_001 }, () => ({ 'context.protocol': 'http', 'request.path': '/over' })))).rejects.toMatchObject({ code: 3 });
      const time = Date.UTC(2026, 11, 6, 12, 0, 0, 7);
      await client.report([
        { 'context.protocol': 'http', 'request.path': '/a', 'response.code': 200, 'request.time': { timestampMs: time }, 'response.duration': { durationMs: 1500 }, 'request.headers': { 'X-User': 'ann' } },
        { 'context.protocol': 'tcp', 'request.path': '/not-http' },
        { 'context.protocol': 'http', 'response.code': 503, 'request.time': { timestampMs: time + 1000 } },
      ]);
      const ok = await unaryCall(raw, '/isthmus.mixer.v1.Mixer/Report', encode([{ attributes: { 'context.protocol': { string_value: 'http' }, 'source.ip': { bytes_value: Buffer.from([10, 0, 0, 7]) }, 'request.time': { timestamp_value: { seconds: Math.floor(time / 1000) + 2, nanos: 0 } } } }]));
      expect(ok.err).toBeNull();
      const lines = await waitFor('three log lines', () => {
        const text = readFileSync(logPath, 'utf8');
        return text.split('\n').length >= 4 ? text : null;
      });
      expect(lines).toBe([
        '{"level":"info","time":"2026-12-06T12:00:00.007Z","instance":"accesslog.istio-system","path":"/a","latency":1500,"headers":{"x-user":"ann"}}',
        // "Error" is not in the default severity map (ERROR, error, ERR, err, FATAL, fatal are): INFO.
        '{"level":"info","time":"2026-12-06T12:00:01.007Z","instance":"accesslog.istio-system","path":"","latency":0}',
        '{"level":"info","time":"2026-12-06T12:00:02.000Z","instance":"accesslog.istio-system","path":"","latency":0,"ip":"10.0.0.7"}',
        '',
      ].join('\n'));
      expect((await control.admin('/metrics')).text).toMatch(/^isthmus_mixer_reports_total 4$/m);
    } finally {
      raw.close();
    }
  });
});
