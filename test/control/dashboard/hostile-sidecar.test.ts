// The dashboard's metric pulls against a sidecar that lies: anything that
// opens an ADS stream names an admin port, and the control plane then reads
// that port's /stats/prometheus. Here a node:http server plays the sidecar
// and serves, beside one ordinary edge, an edge whose callee name is 64 KiB
// (a hostile one sends a new 4 MiB name at every pull: the names are kept
// for minutes and repeated in every state the page polls, so the control
// plane grew past 2 GB and the state outgrew a string). The control plane is real.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TYPE_URL } from '../../../control/xds/protos.js';
import { startControl, waitFor, type RunningControl } from '../e2e/control-harness.js';
import { sotwClient, type SotwClient } from '../xds/ads-test-client.js';

const HUGE_NAME = 'x'.repeat(64 * 1024);

let control: RunningControl;
let server: http.Server;
let ads: SotwClient;
let pulls = 0;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    pulls++;
    const edge = (name: string) => `istio_requests_total{destination_service="${name}.default.svc.cluster.local",destination_service_name="${name}",response_code="200"} ${pulls * 10}\n`;
    res.end(edge('reviews') + edge(HUGE_NAME));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  control = await startControl(undefined, undefined, ['--dashboard-interval', '200ms']);
  ads = sotwClient(control.xdsPort);
  ads.send({
    node: { id: 'liar', cluster: 'test', metadata: { fields: { SERVICE: { stringValue: 'productpage' }, ADMIN_PORT: { stringValue: String(port) } } } },
    type_url: TYPE_URL.CLUSTER,
  });
}, 30_000);

afterAll(async () => {
  ads?.close();
  await control?.stop();
  control?.remove();
  server?.close();
});

describe('the dashboard pulling a hostile sidecar', () => {
  it('shows its ordinary edge and leaves out the one whose name is over the label value limit', async () => {
    interface State { edges: { source: string; target: string; rps: number }[]; nodes: { id: string }[] }
    const seen = await waitFor('the ordinary edge', async () => {
      const { text } = await control.admin('/dashboard/api/state');
      const s = JSON.parse(text) as State;
      return s.edges.some((e) => e.target === 'reviews' && e.rps > 0) ? { s, bytes: text.length } : undefined;
    }, 20_000);
    // Names cut in the message: a failure should not print 64 KiB.
    expect(seen.s.edges.map((e) => `${e.source} -> ${e.target.slice(0, 20)} (${e.target.length} chars)`)).toEqual(['productpage -> reviews (7 chars)']);
    expect(seen.s.nodes.every((n) => n.id.length < 1024)).toBe(true);
    expect(seen.bytes).toBeLessThan(HUGE_NAME.length);
  });
});
