// `isthmus control --prometheus URL`: the dashboard reads its figures from a
// Prometheus server's HTTP API (instant queries) instead of the sidecars.
// No Prometheus ships with npm, so a node:http server answers /api/v1/query
// in Prometheus's JSON shape for the three queries the dashboard sends (and
// records them); the control plane is real.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROMETHEUS_QUERIES, readVector } from '../../../control/dashboard/prometheus-server-source.js';
import { startControl, waitFor, type RunningControl } from '../e2e/control-harness.js';

const asked: string[] = [];
let server: http.Server;
let control: RunningControl;

const vector = (result: { metric: Record<string, string>; value: number }[]) =>
  JSON.stringify({ status: 'success', data: { resultType: 'vector', result: result.map((r) => ({ metric: r.metric, value: [1700000000.1, String(r.value)] })) } });

const edge = { source_workload: 'productpage', destination_service: 'reviews.default.svc.cluster.local', destination_service_name: 'reviews' };

function answer(query: string): string {
  if (query === PROMETHEUS_QUERIES.rate) {
    return vector([
      { metric: { ...edge, destination_version: 'v1', response_code: '200', connection_security_policy: 'unknown' }, value: 9 },
      { metric: { ...edge, destination_version: 'v1', response_code: '503', connection_security_policy: 'unknown' }, value: 1 },
      { metric: { source_workload: 'reviews', destination_service: 'inbound|9080||', destination_service_name: 'inbound|9080||', destination_version: 'unknown', response_code: '200', connection_security_policy: 'mutual_tls' }, value: 10 },
    ]);
  }
  if (query === PROMETHEUS_QUERIES.p50) return vector([{ metric: { ...edge, destination_version: 'v1' }, value: 4 }]);
  if (query === PROMETHEUS_QUERIES.p99) return vector([{ metric: { ...edge, destination_version: 'v1' }, value: 42 }, { metric: { ...edge, destination_version: 'v2' }, value: Number.NaN }]);
  return JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'unknown query' });
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams.get('query') ?? '';
    asked.push(`${url.pathname} ${q}`);
    res.setHeader('content-type', 'application/json');
    res.end(answer(q));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  control = await startControl(undefined, undefined, ['--prometheus', `http://127.0.0.1:${port}/`, '--dashboard-interval', '1s']);
}, 30_000);

afterAll(async () => {
  await control?.stop();
  control?.remove();
  server?.close();
});

describe('the dashboard with --prometheus', () => {
  it('shows the edges and golden signals Prometheus answers, asking its instant-query API', async () => {
    interface State {
      metrics: { source: string };
      edges: { source: string; target: string; rps: number; errorPct: number; p99: number | null; mtls: string }[];
      services: { name: string; rps: number }[];
    }
    const state = await waitFor('edges from Prometheus', async () => {
      const s = JSON.parse((await control.admin('/dashboard/api/state')).text) as State;
      return s.edges.length > 0 ? s : undefined;
    }, 15_000);
    expect(state.metrics.source).toBe('prometheus');
    expect(state.edges).toEqual([expect.objectContaining({ source: 'productpage', target: 'reviews v1', rps: 10, errorPct: 10, p99: 42, mtls: 'mutual_tls' })]);
    expect(state.services.find((s) => s.name === 'reviews')).toMatchObject({ rps: 10 });
    expect(asked).toContain(`/api/v1/query ${PROMETHEUS_QUERIES.rate}`);
    expect(asked).toContain(`/api/v1/query ${PROMETHEUS_QUERIES.p99}`);
  });

  it('reads only instant vectors of the expected shape', () => {
    expect(readVector('nope')).toBe('not JSON');
    expect(readVector('{"status":"error","error":"parse error at char 3"}')).toBe('status "error": parse error at char 3');
    expect(readVector('{"status":"success","data":{"resultType":"matrix","result":[]}}')).toBe('not an instant vector');
    expect(readVector('{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b","n":1},"value":[1,"2.5"]},{"bad":1}]}}'))
      .toEqual([{ metric: { a: 'b' }, value: 2.5 }]);
  });
});

describe('--prometheus option', () => {
  it('refuses a URL that is not http://', async () => {
    const { parseControlOptions } = await import('../../../control/control-command.js');
    expect(() => parseControlOptions(['--prometheus', 'ftp://x'], {})).toThrow(/--prometheus must be an http:\/\/ URL/);
    expect(parseControlOptions(['--prometheus', 'http://127.0.0.1:9090'], {})).toMatchObject({ prometheusUrl: 'http://127.0.0.1:9090', dashboardIntervalMs: 5000 });
  });
});
