// The control plane's mesh-wide tracing setting: `isthmus control
// --tracing-sampling PCT --tracing-zipkin HOST:PORT` reaches every sidecar's
// HTTP listeners over xDS, and the spans of a request through two sidecars
// arrive at the collector in one trace; without --tracing-zipkin the sidecars
// report to the control plane's own admin port. The options are checked.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseControlOptions } from '../../control/control-command.js';
import { startControl, type RunningControl } from '../control/e2e/control-harness.js';
import { admin, metric, outboundPort, replyName, request, startSidecar, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { startZipkinReceiver, type ZipkinReceiver } from '../support/zipkin-receiver.js';

const ROUTE = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - route: [{destination: {host: reviews}}]
`;

interface Mesh {
  readonly control: RunningControl;
  readonly app: Upstream;
  readonly reviews: RunningProxy;
  readonly client: RunningProxy;
}

const meshes: Mesh[] = [];
let zipkin: ZipkinReceiver | undefined;

async function startMesh(args: readonly string[]): Promise<Mesh> {
  const control = await startControl((d) => writeFileSync(join(d, 'reviews.yaml'), ROUTE), undefined, ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms', ...args]);
  const app = await startUpstream(replyName('reviews'));
  const reviews = await startSidecar(control.xdsPort, { service: 'reviews', version: 'v1', appPort: app.port });
  const client = await startSidecar(control.xdsPort, { service: 'productpage' });
  const mesh = { control, app, reviews, client };
  meshes.push(mesh);
  await waitFor('the route to reviews', async () => (await get(mesh, '/ok')).body === 'reviews', 15_000);
  return mesh;
}

afterAll(async () => {
  for (const m of meshes) {
    await Promise.all([m.reviews.stop('SIGTERM', 5000), m.client.stop('SIGTERM', 5000)]);
    await m.app.close();
    await m.control.stop();
    m.control.remove();
  }
  await zipkin?.close();
});

function get(mesh: Mesh, path: string, headers: Record<string, string> = {}) {
  return request(outboundPort(mesh.client), path, { headers: { host: 'reviews:9080', ...headers }, timeoutMs: 5000 });
}

describe('mesh-wide tracing from the control plane', () => {
  it('--tracing-sampling 100 --tracing-zipkin: both sidecars report the request\'s spans in one trace', async () => {
    zipkin = await startZipkinReceiver();
    const mesh = await startMesh(['--tracing-sampling', '100', '--tracing-zipkin', `127.0.0.1:${zipkin.port}`]);
    expect((await get(mesh, '/traced')).status).toBe(200);
    const seen = mesh.app.seen.find((r) => r.url === '/traced')!;
    const traceId = String(seen.headers['x-b3-traceid']);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/); // the mesh asks for 128-bit trace ids
    const spans = await waitFor('two spans of the trace', () => {
      const found = zipkin!.spans.filter((s) => s.traceId === traceId);
      return found.length >= 2 ? found : undefined;
    }, 10_000);
    const client = spans.find((s) => s.kind === 'CLIENT')!;
    const server = spans.find((s) => s.kind === 'SERVER')!;
    expect(client.localEndpoint?.serviceName).toBe('productpage.default');
    expect(server.localEndpoint?.serviceName).toBe('reviews.default');
    expect(server.id).toBe(client.id);
    expect(server.shared).toBe(true);
    expect(client.tags?.upstream_cluster).toMatch(/^outbound\|9080\|\|reviews/);
  }, 60_000);

  it('without --tracing-zipkin the sidecars report to the control plane\'s admin port; 0% samples nothing but forced requests', async () => {
    const mesh = await startMesh(['--tracing-sampling', '0']);
    for (let i = 0; i < 5; i++) expect((await get(mesh, `/unsampled-${i}`)).status).toBe(200);
    expect(mesh.app.seen.find((r) => r.url === '/unsampled-0')?.headers['x-b3-sampled']).toBe('0');
    expect((await get(mesh, '/forced', { 'x-client-trace-id': 'f1' })).status).toBe(200);
    // The admin port answered the reports (a receiver there accepts them; without one it answers 404): no failures.
    const stats = await waitFor('a report to the admin port', async () => {
      const text = (await admin(mesh.client, '/stats/prometheus')).body;
      return (metric(text, 'envoy_tracing_zipkin_reports_sent') ?? 0) + (metric(text, 'envoy_tracing_zipkin_reports_dropped') ?? 0) > 0 ? text : undefined;
    }, 10_000);
    expect(metric(stats, 'envoy_tracing_zipkin_reports_failed')).toBe(0);
    expect(metric(stats, 'envoy_tracing_client_enabled')).toBe(1);
    expect(metric(stats, 'envoy_tracing_random_sampling')).toBe(0);
  }, 60_000);

  it('checks the options', () => {
    expect(() => parseControlOptions(['--tracing-sampling', '101'])).toThrow(/--tracing-sampling.*0 to 100/);
    expect(() => parseControlOptions(['--tracing-sampling', 'half'])).toThrow(/--tracing-sampling/);
    expect(() => parseControlOptions(['--tracing-sampling', '1', '--tracing-zipkin', 'zipkin'])).toThrow(/HOST:PORT/);
    expect(() => parseControlOptions(['--tracing-zipkin', '127.0.0.1:9411'])).toThrow(/needs --tracing-sampling/);
    const o = parseControlOptions(['--tracing-sampling', '2.5', '--tracing-zipkin', 'zipkin.istio-system:9411'], {});
    expect(o !== 'help' && o.tracing).toEqual({ samplingPercent: 2.5, collector: { host: 'zipkin.istio-system', port: 9411 } });
    const off = parseControlOptions([], {});
    expect(off !== 'help' && off.tracing).toBeNull();
  });
});
