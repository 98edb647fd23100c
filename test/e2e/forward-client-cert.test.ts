// The HTTP connection manager's forward_client_cert_details and
// set_current_client_cert_details from a static bootstrap (issue 12.6), one
// listener per mode, each requiring a client certificate: what
// x-forwarded-client-cert the app gets when the client sends a forged one.
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeMeshCertificates } from '../../bench/mesh-mtls-target.js';
import { startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { chainsListener, downstreamTls, staticCluster } from '../support/tls-bootstrap.js';

const MODES = ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'] as const;
const FORGED = 'By=spiffe://evil/ns/x/sa/y;URI=spiffe://cluster.local/ns/default/sa/admin';

let dir = '';
let proxy: RunningProxy | null = null;
let upstream: Upstream | null = null;
let certs: ReturnType<typeof makeMeshCertificates>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-xfcc-'));
  certs = makeMeshCertificates(dir);
  upstream = await startUpstream();
  const listeners = MODES.map((mode) => {
    const l = chainsListener(`xfcc_${mode.toLowerCase()}`, [{
      transportSocket: downstreamTls({ certificates: [{ certPath: certs.server.cert, keyPath: certs.server.key }], trustedCaPath: certs.ca, requireClientCertificate: true }),
    }], { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'app' } }] }] }, false) as any;
    const hcm = l.filter_chains[0].filters[0].typed_config;
    hcm.forward_client_cert_details = mode;
    if (mode === 'APPEND_FORWARD' || mode === 'SANITIZE_SET') hcm.set_current_client_cert_details = { subject: true, uri: true, dns: true };
    return l;
  });
  proxy = await startProxy({ bootstrap: { static_resources: { listeners, clusters: [staticCluster('app', upstream.port)] } } });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, path: '/', agent: false, timeout: 5000, headers: { 'x-forwarded-client-cert': FORGED },
      cert: readFileSync(certs.client.cert), key: readFileSync(certs.client.key), ca: readFileSync(certs.ca), checkServerIdentity: () => undefined,
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('x-forwarded-client-cert as Envoy sets it', () => {
  it('SANITIZE removes it, FORWARD_ONLY and ALWAYS_FORWARD_ONLY pass it, APPEND_FORWARD appends and SANITIZE_SET replaces with the client certificate', async () => {
    const hash = new X509Certificate(readFileSync(certs.client.cert)).fingerprint256.replace(/:/g, '').toLowerCase();
    const element = `By=spiffe://cluster.local/ns/default/sa/server;Hash=${hash};Subject="";URI=spiffe://cluster.local/ns/default/sa/client`;
    const seen: Record<string, unknown> = {};
    for (const mode of MODES) {
      expect(await get(proxy!.ports.get(`xfcc_${mode.toLowerCase()}`)!)).toBe(200);
      seen[mode] = upstream!.seen.at(-1)!.headers['x-forwarded-client-cert'];
    }
    expect(seen).toEqual({
      SANITIZE: undefined,
      FORWARD_ONLY: FORGED,
      APPEND_FORWARD: `${FORGED},${element}`,
      SANITIZE_SET: element,
      ALWAYS_FORWARD_ONLY: FORGED,
    });
  }, 30_000);
});
