// envoy.filters.http.ext_authz end to end: proxies (2 workers, and --workers 1)
// from a static bootstrap in front of a real node:http upstream, asking a real
// @grpc/grpc-js server of Envoy's envoy.service.auth.v3.Authorization proto
// started here: it allows x-user alice (adding a header upstream), denies
// everyone else with a 403 body, and answers x-user slow too late.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, metricSum, request, startProxy, type RunningProxy } from './harness.js';
import { startUpstream, type Upstream } from './peers.js';
import { withHttpFilters } from './http-filter-config.js';
import { authorizationServiceDefinition } from '../../src/xds/ext-authz-protos.js';

const ROUTER = { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } };

interface SeenCheck { attributes: { source?: { address?: { socket_address?: { address?: string } } }; request?: { http?: { method?: string; path?: string; host?: string; headers?: Record<string, string> } } } }

let upstream: Upstream;
let server: grpc.Server;
let authzPort = 0;
const seen: SeenCheck[] = [];
let open: RunningProxy;
let closed: RunningProxy;

function extAuthzBootstrap(failureModeAllow: boolean): Record<string, unknown> {
  const routes = [{ match: { prefix: '/' }, route: { cluster: 'backend', timeout: '10s' } }];
  const b = bootstrapWith({ virtual_hosts: [{ name: 'svc', domains: ['*'], routes }] }, [{ name: 'backend', ports: [upstream.port] }, { name: 'authz', ports: [authzPort] }]);
  return withHttpFilters(b, [{
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
      // 1.5 s: a first Check (a new gRPC connection) on a loaded machine can take more than 0.5 s; 'slow' answers after 4 s.
      grpc_service: { envoy_grpc: { cluster_name: 'authz' }, timeout: '1.5s' },
      transport_api_version: 'V3',
      failure_mode_allow: failureModeAllow,
    },
  }, ROUTER]);
}

beforeAll(async () => {
  upstream = await startUpstream();
  server = new grpc.Server();
  server.addService(authorizationServiceDefinition(), {
    Check(call: grpc.ServerUnaryCall<SeenCheck, unknown>, cb: grpc.sendUnaryData<unknown>) {
      seen.push(call.request);
      const user = call.request.attributes?.request?.http?.headers?.['x-user'];
      if (user === 'alice') cb(null, { status: { code: 0 }, ok_response: { headers: [{ header: { key: 'x-authz-user', value: 'alice' } }] } });
      else if (user === 'slow') setTimeout(() => cb(null, { status: { code: 0 }, ok_response: {} }), 4000);
      else cb(null, { status: { code: 7, message: 'no' }, denied_response: { status: { code: 'Forbidden' }, body: `user ${user} may not pass\n` } });
    },
  });
  authzPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  open = await startProxy({ bootstrap: extAuthzBootstrap(true), workers: 2 });
  closed = await startProxy({ bootstrap: extAuthzBootstrap(false), workers: 1 });
});

afterAll(async () => {
  await open?.stop();
  await closed?.stop();
  server?.forceShutdown();
  await upstream?.close();
});

async function stat(p: RunningProxy, name: string): Promise<number> {
  return metricSum((await admin(p, '/stats/prometheus')).body, name);
}

describe('envoy.filters.http.ext_authz with a gRPC Authorization server', () => {
  for (const which of ['2 workers', '--workers 1'] as const) {
    it(`allows the allowed header value with ok_response headers upstream, denies others with the server's 403 body (${which})`, async () => {
      const p = which === '2 workers' ? open : closed;
      const before = upstream.seen.length;
      const ok = await request(p.port, '/x?q=1', { headers: { 'x-user': 'alice' } });
      expect(ok.status).toBe(200);
      expect(upstream.seen.length).toBe(before + 1);
      expect(upstream.seen.at(-1)!.headers['x-authz-user']).toBe('alice');
      const check = seen.at(-1)!;
      expect(check.attributes.request?.http?.path).toBe('/x?q=1');
      expect(check.attributes.request?.http?.method).toBe('GET');
      expect(check.attributes.source?.address?.socket_address?.address).toBe('127.0.0.1');
      const denied = await request(p.port, '/x', { headers: { 'x-user': 'mallory' } });
      expect(denied.status).toBe(403);
      expect(denied.body).toBe('user mallory may not pass\n');
      expect(upstream.seen.length).toBe(before + 1);
      expect(await stat(p, 'envoy_http_ext_authz_ok')).toBeGreaterThanOrEqual(1);
      expect(await stat(p, 'envoy_http_ext_authz_denied')).toBeGreaterThanOrEqual(1);
    });
  }

  it('a server slower than grpc_service.timeout: failure_mode_allow true passes, false answers 403', async () => {
    expect((await request(open.port, '/', { headers: { 'x-user': 'slow' } })).status).toBe(200);
    expect(await stat(open, 'envoy_http_ext_authz_failure_mode_allowed')).toBe(1);
    expect((await request(closed.port, '/', { headers: { 'x-user': 'slow' } })).status).toBe(403);
    expect(await stat(closed, 'envoy_http_ext_authz_error')).toBe(1);
    expect(await stat(closed, 'envoy_http_ext_authz_failure_mode_allowed')).toBe(0);
    // Envoy's names in /stats.
    const envoyStats = (await admin(open, '/stats')).body;
    expect(envoyStats).toMatch(/^http\.[^\n]+\.ext_authz\.failure_mode_allowed: 1$/m);
    expect(envoyStats).toMatch(/^http\.[^\n]+\.ext_authz\.ok: \d+$/m);
  });
});
