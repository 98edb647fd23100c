// TCP through the mesh with real processes: `isthmus control` with a
// ServiceEntry whose port is named `tcp-db`, a sidecar in front of a TCP echo
// app (its inbound listener gets a tcp_proxy chain), and a client sidecar
// whose outbound TCP listener on 127.0.0.1:<service port> relays to it. Bytes
// (and the half-close) make it through both sidecars over xDS-delivered
// tcp_proxy config.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControl, type RunningControl } from '../control/e2e/control-harness.js';
import { configDump, startProxy, waitFor, type RunningProxy } from './harness.js';
import { freePort } from '../../bench/peers.js';
import { exchange, startTcpEcho, type TcpServer } from '../support/tcp-peers.js';

let control: RunningControl;
let echo: TcpServer;
let db: RunningProxy;
let client: RunningProxy;
let servicePort = 0;

beforeAll(async () => {
  echo = await startTcpEcho();
  servicePort = await freePort();
  control = await startControl((dir) => writeFileSync(join(dir, 'db.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: default}
spec:
  hosts: [db.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: ${servicePort}, name: tcp-db}]
  workloadSelector: {labels: {app: db}}
`), undefined, ['--registration-grace', '500ms', '--push-debounce-quiet', '20ms']);
  const xds = `127.0.0.1:${control.xdsPort}`;
  db = await startProxy({ control: xds, args: ['--service', 'db', '--namespace', 'default', '--outbound-port', '0', '--app-port', String(echo.port),
    '--service-port', String(servicePort), '--inbound-port', '0', '--drain-timeout', '1s'] });
  client = await startProxy({ control: xds, args: ['--service', 'client', '--namespace', 'default', '--outbound-port', '0', '--drain-timeout', '1s'] });
}, 60_000);

afterAll(async () => {
  await client?.stop('SIGTERM', 5000);
  await db?.stop('SIGTERM', 5000);
  await echo?.close();
  await control?.stop();
  control?.remove();
});

describe('TCP through two sidecars from the control plane', { timeout: 60_000 }, () => {
  it('the tcp-db port gets tcp_proxy chains, and bytes echo through both sidecars', async () => {
    // The client sidecar listens on the service port once the db sidecar registered and its endpoint was pushed.
    await waitFor('the outbound TCP listener and the db endpoint', async () => {
      const dump = JSON.stringify(await configDump(client));
      return dump.includes(`outbound_tcp_${servicePort}`) && dump.includes(`"tcpProxy":{"statPrefix":"outbound_tcp_${servicePort}"`);
    }, 20_000);
    const inbound = JSON.stringify(await configDump(db));
    expect(inbound).toContain(`"tcpProxy":{"statPrefix":"inbound|${servicePort}||"`);
    const data = randomBytes(2 * 1024 * 1024);
    const got = await waitFor('an echo through the mesh', async () => {
      const r = await exchange(servicePort, data, 10_000).catch(() => Buffer.alloc(0));
      return r.length === data.length ? r : undefined;
    }, 20_000);
    expect(got.equals(data)).toBe(true);
  });
});
