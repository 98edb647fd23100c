// Istio's meshConfig.accessLogFile / accessLogEncoding / accessLogFormat from
// the control plane: every sidecar's listeners get the access log over xDS
// (a JSON format travels as a protobuf Struct), in Istio's default TEXT or
// JSON format or the one given, with a real control plane, sidecars and app.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseControlOptions } from '../../control/control-command.js';
import { startControl, type RunningControl } from '../control/e2e/control-harness.js';
import { outboundPort, replyName, request, startSidecar, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';

const ROUTE = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - name: to-reviews
    route: [{destination: {host: reviews}}]
`;

interface Mesh {
  readonly control: RunningControl;
  readonly app: Upstream;
  readonly proxies: RunningProxy[];
  readonly client: RunningProxy;
}

const meshes: Mesh[] = [];
const dir = mkdtempSync(join(tmpdir(), 'isthmus-mesh-access-log-'));

async function startMesh(args: readonly string[]): Promise<Mesh> {
  const control = await startControl((d) => writeFileSync(join(d, 'reviews.yaml'), ROUTE), undefined, [
    '--registration-grace', '500ms', '--push-debounce-quiet', '20ms', ...args,
  ]);
  const app = await startUpstream(replyName('reviews'));
  const proxies = [await startSidecar(control.xdsPort, { service: 'reviews', version: 'v1', appPort: app.port })];
  const client = await startSidecar(control.xdsPort, { service: 'productpage' });
  proxies.push(client);
  const mesh: Mesh = { control, app, proxies, client };
  meshes.push(mesh);
  await waitFor('the route to reviews', async () => (await get(mesh, '/ok')).body === 'reviews', 15_000);
  return mesh;
}

afterAll(async () => {
  for (const m of meshes) {
    await Promise.all(m.proxies.map((p) => p.stop('SIGTERM', 5000)));
    await m.app.close();
    await m.control.stop();
    m.control.remove();
  }
  rmSync(dir, { recursive: true, force: true });
});

function get(mesh: Mesh, path: string) {
  return request(outboundPort(mesh.client), path, { headers: { host: 'reviews:9080', 'user-agent': 'mesh-test' }, timeoutMs: 5000 });
}

function fileLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  } catch {
    return [];
  }
}

describe("Istio's mesh access log from the control plane", () => {
  it('accessLogEncoding JSON: both sidecars log each request with Istio\'s default JSON fields', async () => {
    const file = join(dir, 'mesh.json.log');
    const mesh = await startMesh(['--access-log-file', file, '--access-log-encoding', 'JSON']);
    expect((await get(mesh, '/json-probe')).status).toBe(200);
    const probe = await waitFor('both sidecars to log the probe', () => {
      const found = fileLines(file).map((l) => JSON.parse(l) as Record<string, unknown>).filter((j) => j.path === '/json-probe');
      return found.length === 2 ? found : undefined;
    });
    const outbound = probe.find((j) => String(j.upstream_cluster).startsWith('outbound|'))!;
    expect(Object.keys(outbound).sort()).toEqual([
      'authority', 'bytes_received', 'bytes_sent', 'connection_termination_details', 'downstream_local_address',
      'downstream_remote_address', 'duration', 'method', 'path', 'protocol', 'request_id', 'requested_server_name',
      'response_code', 'response_code_details', 'response_flags', 'route_name', 'start_time', 'upstream_cluster',
      'upstream_host', 'upstream_local_address', 'upstream_service_time', 'upstream_transport_failure_reason',
      'user_agent', 'x_forwarded_for',
    ]);
    expect(outbound).toMatchObject({
      method: 'GET', response_code: 200, response_flags: '-', response_code_details: 'via_upstream', user_agent: 'mesh-test',
      authority: 'reviews:9080', upstream_cluster: 'outbound|9080||reviews.default.svc.cluster.local', route_name: 'to-reviews',
    });
    const inbound = probe.find((j) => String(j.upstream_cluster).startsWith('inbound|'))!;
    expect(inbound).toMatchObject({ response_code: 200, request_id: outbound.request_id });
  }, 60_000);

  it('accessLogFile /dev/stdout with Istio\'s default TEXT format, and a custom TEXT format to a file', async () => {
    const mesh = await startMesh(['--access-log-file', '/dev/stdout']);
    expect((await get(mesh, '/text-probe')).status).toBe(200);
    const line = await waitFor('the client sidecar to print the probe', () =>
      mesh.client.lines.map((l) => String(l.msg)).find((m) => m.includes('/text-probe')));
    expect(line).toMatch(/^\[\S+Z\] "GET \/text-probe HTTP\/1\.1" 200 - via_upstream - "-" \d+ \d+ \d+ - "-" "mesh-test" "[0-9a-f-]{36}" "reviews:9080" "127\.0\.0\.1:\d+" outbound\|9080\|\|reviews\.default\.svc\.cluster\.local - 127\.0\.0\.1:\d+ 127\.0\.0\.1:\d+ - to-reviews$/);

    const file = join(dir, 'mesh.custom.log');
    const custom = await startMesh(['--access-log-file', file, '--access-log-format', '%REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE%']);
    expect((await get(custom, '/custom-probe')).status).toBe(200);
    await waitFor('the custom lines', () => fileLines(file).filter((l) => l === 'GET /custom-probe 200').length === 2);
  }, 60_000);

  it('refuses at start a format the proxies would refuse, naming the operator', () => {
    expect(() => parseControlOptions(['--access-log-file', '/dev/stdout', '--access-log-format', '%NOPE%'], {}))
      .toThrow(/--access-log-format: accessLogFormat uses the unknown command operator %NOPE%/);
    expect(() => parseControlOptions(['--access-log-encoding', 'JSON', '--access-log-format', '[1]'], {}))
      .toThrow(/must be a JSON object whose values are format strings/);
    expect(() => parseControlOptions(['--access-log-encoding', 'XML'], {})).toThrow(/must be TEXT or JSON/);
  });
});
