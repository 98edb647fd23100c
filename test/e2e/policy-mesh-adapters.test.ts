// Adapters through the whole mesh (issue 14, "Tests"): `isthmus control` with
// handler / instance / rule files, reviews' sidecar (2 workers) asking it, and
// receivers in the test. A list handler on source.ip CIDRs decides by the
// client's address (clients bound to 127.0.0.x); the sidecar's Reports reach a
// statsd handler (a UDP socket here) and a fluentd handler (a forward-protocol
// TCP receiver here, decoding msgpack with no help from the adapter's code).
import { ExtData } from '@msgpack/msgpack';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './harness.js';
import { mixerDoc } from '../support/mixer-config.js';
import { startPolicyMesh, type PolicyMesh } from '../support/policy-mesh.js';
import { ForwardReceiver } from '../support/fluentd-receiver.js';

let mesh: PolicyMesh | null = null;
const cleanup: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  await mesh?.stop();
  mesh = null;
  for (const c of cleanup.splice(0)) await c();
});

/** Only 127.0.0.4/30 and 10.0.0.0/8 may call /guarded (whitelist); 127.0.0.3 may not call /blocked (blacklist). */
const SOURCE_IP_LISTS = [
  mixerDoc('handler', 'allowed-ips', 'compiledAdapter: list\nparams:\n  entryType: IP_ADDRESSES\n  overrides: ["127.0.0.4/30", "10.0.0.0/8"]'),
  mixerDoc('handler', 'blocked-ips', 'compiledAdapter: list\nparams:\n  entryType: IP_ADDRESSES\n  blacklist: true\n  overrides: ["127.0.0.3/32"]'),
  mixerDoc('instance', 'sourceip', 'compiledTemplate: listentry\nparams:\n  value: source.ip | ip("0.0.0.0")'),
  mixerDoc('rule', 'guarded', 'match: request.path.startsWith("/guarded")\nactions:\n- handler: allowed-ips\n  instances: [sourceip]'),
  mixerDoc('rule', 'blocked', 'match: request.path.startsWith("/blocked")\nactions:\n- handler: blocked-ips\n  instances: [sourceip]'),
].join('---\n');

describe('adapters through the mesh', { timeout: 90_000 }, () => {
  it('a list handler on source.ip CIDRs: whitelisted and blacklisted client addresses (127.0.0.x) are decided apart', async () => {
    // Fail closed and patient: a Check that is slow on a loaded machine must not pass as a fail-open 200.
    mesh = await startPolicyMesh({ files: { 'lists.yaml': SOURCE_IP_LISTS }, controlArgs: ['--policy-check-fail-closed', '--policy-check-timeout', '5s'] });
    const m = mesh;
    const from = async (address: string, path: string): Promise<string> => {
      const r = await m.inbound(path, {}, address);
      return `${r.status} ${r.body}`.trim();
    };
    // Whitelist: inside 127.0.0.4/30 passes, outside is NOT_FOUND (404), as Istio's list adapter answered.
    expect(await from('127.0.0.5', '/guarded')).toBe('200 reviews');
    expect(await from('127.0.0.6', '/guarded/x')).toBe('200 reviews');
    expect(await from('127.0.0.3', '/guarded')).toBe('404 NOT_FOUND:127.0.0.3 is not whitelisted');
    expect(await from('127.0.0.8', '/guarded')).toBe('404 NOT_FOUND:127.0.0.8 is not whitelisted');
    // Blacklist: the listed address is PERMISSION_DENIED (403), the others pass.
    expect(await from('127.0.0.3', '/blocked')).toBe('403 PERMISSION_DENIED:127.0.0.3 is blacklisted');
    expect(await from('127.0.0.2', '/blocked')).toBe('200 reviews');
    // Answers are cached per source address: asking again changes nothing.
    expect(await from('127.0.0.3', '/guarded/again')).toBe('404 NOT_FOUND:127.0.0.3 is not whitelisted');
    expect(await from('127.0.0.5', '/guarded/again')).toBe('200 reviews');
    // Paths no rule guards are open to every address.
    expect(await from('127.0.0.3', '/open')).toBe('200 reviews');
  });

  it('Report reaches a statsd handler (UDP) and a fluentd handler (forward protocol over TCP)', async () => {
    const statsd = await udpReceiver();
    const fluentd = new ForwardReceiver();
    const fluentdPort = await fluentd.listen();
    cleanup.push(() => statsd.close(), () => fluentd.close());
    const files = {
      'telemetry.yaml': [
        mixerDoc('handler', 'statsd', `compiledAdapter: statsd\nparams:\n  address: "127.0.0.1:${statsd.port}"\n  prefix: mesh\n  flushDuration: 50ms\n  metrics:\n    requestcount.istio-system: { type: COUNTER, nameTemplate: "{{.method}}.{{.code}}" }`),
        mixerDoc('instance', 'requestcount', 'compiledTemplate: metric\nparams:\n  value: "1"\n  dimensions:\n    method: request.method | "unknown"\n    code: response.code | 0'),
        mixerDoc('rule', 'statsd', 'actions:\n- handler: statsd\n  instances: [requestcount]'),
        mixerDoc('handler', 'fluentd', `compiledAdapter: fluentd\nparams:\n  address: "127.0.0.1:${fluentdPort}"\n  pushIntervalDuration: 50ms\n  integerDuration: true`),
        mixerDoc('instance', 'accesslog', 'compiledTemplate: logentry\nparams:\n  severity: \'"Info"\'\n  timestamp: request.time\n  variables:\n    path: request.path | ""\n    user: request.headers["x-user"] | "anonymous"\n    code: response.code | 0'),
        mixerDoc('rule', 'fluentd', 'match: request.path.startsWith("/r/")\nactions:\n- handler: fluentd\n  instances: [accesslog]'),
      ].join('---\n'),
    };
    mesh = await startPolicyMesh({ files });
    const m = mesh;
    const startedAt = Date.now() / 1000;
    for (let i = 0; i < 3; i++) expect((await m.get(`/r/${i}`, { 'x-user': 'ann' })).status).toBe(200);

    // statsd: one counter line per request, named from the metric's dimensions.
    await waitFor('3 statsd lines for GET 200', () => statsd.lines.filter((l) => l === 'mesh.GET.200:1|c').length >= 3, 15_000);

    // fluentd: tagged with the instance's name; the record holds the variables and the severity, the time is an EventTime.
    await waitFor('3 fluentd entries', () => fluentd.received.filter((e) => String(e.record.path).startsWith('/r/')).length === 3, 15_000);
    const entries = fluentd.received.filter((e) => String(e.record.path).startsWith('/r/')).sort((a, b) => String(a.record.path).localeCompare(String(b.record.path)));
    expect(entries.map((e) => e.tag)).toEqual(['accesslog.istio-system', 'accesslog.istio-system', 'accesslog.istio-system']);
    expect(entries.map((e) => e.record)).toEqual([0, 1, 2].map((i) => ({ path: `/r/${i}`, user: 'ann', code: 200, severity: 'Info' })));
    for (const e of entries) {
      expect(e.time).toBeInstanceOf(ExtData);
      const ext = e.time as ExtData;
      expect(ext.type).toBe(0);
      const seconds = Buffer.from(ext.data as Uint8Array).readUInt32BE(0);
      expect(Math.abs(seconds - startedAt)).toBeLessThan(60);
    }
  });
});

/** A StatsD server: a UDP socket collecting the lines of every packet. */
async function udpReceiver(): Promise<{ port: number; lines: string[]; close(): Promise<void> }> {
  const socket: UdpSocket = createSocket('udp4');
  const lines: string[] = [];
  socket.on('message', (packet) => lines.push(...packet.toString('utf8').split('\n').filter((l) => l !== '')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, lines, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

