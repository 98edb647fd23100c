// A policy mesh for the end-to-end tests: `isthmus control` with Mixer
// handler / instance / rule files, reviews (an app behind a sidecar whose
// inbound listener gets the policy filter) and a productpage client sidecar in
// front of it. Every process is real; stop() ends them all.
import { writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { join } from 'node:path';
import { startControl, type RunningControl } from '../control/e2e/control-harness.js';
import {
  admin, keepAliveAgent, metricSum, outboundPort, replyName, request, startSidecar, startUpstream, waitFor,
  type HttpResult, type RunningProxy, type Upstream,
} from '../e2e/harness.js';

export const POLICY_CONTROL_ARGS = ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms'];

export interface PolicyMeshOptions {
  /** File name -> YAML in the control plane's config folder. */
  readonly files: Record<string, string>;
  /** After POLICY_CONTROL_ARGS (mesh-wide settings such as --policy-check-fail-closed). */
  readonly controlArgs?: readonly string[];
  /** The server sidecar's worker threads (default 2). */
  readonly serverWorkers?: number;
}

export interface PolicyMesh {
  readonly control: RunningControl;
  /** reviews' sidecar: the one with the policy filter. */
  readonly server: RunningProxy;
  /** productpage's sidecar: requests go through its outbound port. */
  readonly client: RunningProxy;
  readonly app: Upstream;
  /** GET `path` to reviews through the client sidecar with the given headers (host: reviews:9080 added). */
  get(path: string, headers?: Record<string, string>, agent?: import('node:http').Agent | false): Promise<HttpResult>;
  /**
   * GET `path` straight to reviews' inbound listener (the policy filter's), on a connection of its own from
   * `localAddress` (default 127.0.0.1): fresh connections spread over the server sidecar's workers.
   */
  inbound(path: string, headers?: Record<string, string>, localAddress?: string): Promise<HttpResult>;
  /** The sum of a family's samples on the control plane's /metrics whose labels include all of `labels` (0 when absent). */
  controlMetric(name: string, ...labels: string[]): Promise<number>;
  /** The server sidecar's /stats/prometheus text. */
  serverStats(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the mesh and waits until a request with `ready` headers passes (status 200) end to end. */
export async function startPolicyMesh(o: PolicyMeshOptions, ready: Record<string, string> = { 'x-user': 'ready' }): Promise<PolicyMesh> {
  const control = await startControl((dir) => {
    for (const [name, text] of Object.entries(o.files)) writeFileSync(join(dir, name), text);
  }, undefined, [...POLICY_CONTROL_ARGS, ...(o.controlArgs ?? [])]);
  const started: RunningProxy[] = [];
  let app: Upstream | null = null;
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((p) => p.stop('SIGTERM', 5000)));
    await app?.close();
    await control.stop();
    control.remove();
  };
  try {
    app = await startUpstream(replyName('reviews'));
    const server = await startSidecar(control.xdsPort, { service: 'reviews', appPort: app.port, workers: o.serverWorkers ?? 2 });
    started.push(server);
    const client = await startSidecar(control.xdsPort, { service: 'productpage' });
    started.push(client);
    const get = (path: string, headers: Record<string, string> = {}, agent: import('node:http').Agent | false = keepAliveAgent): Promise<HttpResult> =>
      request(outboundPort(client), path, { headers: { host: 'reviews:9080', ...headers }, agent, timeoutMs: 10_000 });
    await waitFor('reviews reachable through the client sidecar', async () => (await get('/', ready)).status === 200, 20_000);
    return {
      control, server, client, app, get, stop,
      inbound: (path, headers = {}, localAddress = '127.0.0.1') => requestFrom(server.ports.get('inbound')!, path, { host: 'reviews:9080', ...headers }, localAddress),
      controlMetric: async (name, ...labels) => metricSum((await control.admin('/metrics')).text, name, ...labels),
      serverStats: async () => (await admin(server, '/stats/prometheus')).body,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One GET on a connection of its own bound to `localAddress` (a loopback address: 127.0.0.x), within 10 s. */
export function requestFrom(port: number, path: string, headers: Record<string, string>, localAddress: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, localAddress, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, body, reusedSocket: false }));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} from ${localAddress} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** Mixer config: a denier (code 7, "beta users are not allowed") for the requests `match` selects. */
export function betaDenier(match: string): string {
  return `apiVersion: config.istio.io/v1alpha2
kind: handler
metadata: {name: deny-beta, namespace: istio-system}
spec:
  compiledAdapter: denier
  params:
    status: {code: 7, message: beta users are not allowed}
---
apiVersion: config.istio.io/v1alpha2
kind: instance
metadata: {name: nothing, namespace: istio-system}
spec:
  compiledTemplate: checknothing
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: deny-beta, namespace: istio-system}
spec:
  match: ${match}
  actions:
  - handler: deny-beta
    instances: [nothing]
`;
}
