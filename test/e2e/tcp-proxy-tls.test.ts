// tcp_proxy with TLS, both transports: TLS passthrough by SNI (the
// tls_inspector picks a chain per server name; the proxy never decrypts, the
// client's handshake reaches the upstream that owns the name), TLS
// termination in front of a plain TCP upstream, and TLS origination to an
// upstream (the cluster's UpstreamTlsContext, its SAN checked).
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from './harness.js';
import { downstreamTls, upstreamTls } from '../support/tls-bootstrap.js';
import { TestCa, type Pem } from '../support/tls-certs.js';
import { exchange, startTcpEcho, tcpCluster, tcpProxyFilter, type TcpServer } from '../support/tcp-peers.js';

let ca: TestCa;
let aCert: Pem;
let bCert: Pem;
let proxyCert: Pem;
const servers: tls.Server[] = [];

/** A TLS server that answers each connection with its name and then echoes. */
async function tlsNamed(name: string, cert: Pem): Promise<number> {
  const server = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => {
    s.on('error', () => {});
    s.write(`${name}:`);
    s.pipe(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

/** Opens TLS to the proxy with `servername`, sends `text`, returns what came back before the server's close. */
function tlsExchange(port: number, servername: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const s = tls.connect({ port, host: '127.0.0.1', servername, ca: ca.cert }, () => s.end(text));
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      got += d;
    });
    s.on('error', reject);
    s.on('close', () => resolve(got));
  });
}

describe.each(['node', 'native'] as const)('tcp_proxy with TLS (%s transport)', { timeout: 60_000 }, (transport) => {
  let echo: TcpServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    ca ??= new TestCa();
    aCert ??= ca.leaf({ cn: 'a', dns: ['a.example.com'] });
    bCert ??= ca.leaf({ cn: 'b', dns: ['b.example.com'] });
    proxyCert ??= ca.leaf({ cn: 'proxy', dns: ['edge.test'] });
    echo = await startTcpEcho();
    const [aPort, bPort] = await Promise.all([tlsNamed('A', aCert), tlsNamed('B', bCert)]);
    proxy = await startProxy({
      args: ['--transport', transport],
      bootstrap: {
        static_resources: {
          listeners: [
            {
              name: 'passthrough',
              address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
              listener_filters: [{ name: 'envoy.filters.listener.tls_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }],
              filter_chains: [
                { filter_chain_match: { server_names: ['a.example.com'] }, filters: [tcpProxyFilter({ cluster: 'a' }, 'sni_a')] },
                { filter_chain_match: { server_names: ['b.example.com'] }, filters: [tcpProxyFilter({ cluster: 'b' }, 'sni_b')] },
              ],
            },
            {
              name: 'terminate',
              address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
              filter_chains: [{ transport_socket: downstreamTls({ certificates: [proxyCert] }), filters: [tcpProxyFilter({ cluster: 'echo' }, 'terminate')] }],
            },
            {
              name: 'originate',
              address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
              filter_chains: [{ filters: [tcpProxyFilter({ cluster: 'a_tls' }, 'originate')] }],
            },
          ],
          clusters: [
            tcpCluster('a', [aPort]),
            tcpCluster('b', [bPort]),
            tcpCluster('echo', [echo.port]),
            tcpCluster('a_tls', [aPort], { transport_socket: upstreamTls(ca.certPath, 'a.example.com', { type: 'DNS', exact: 'a.example.com' }) }),
          ],
        },
      },
    });
  }, 60_000);

  afterAll(async () => {
    await proxy?.stop();
    await echo?.close();
    for (const s of servers.splice(0)) s.close();
  });

  it('passes TLS through to the upstream that owns the SNI name, undecrypted', async () => {
    expect(await tlsExchange(proxy.ports.get('passthrough')!, 'a.example.com', 'hello a')).toBe('A:hello a');
    expect(await tlsExchange(proxy.ports.get('passthrough')!, 'b.example.com', 'hello b')).toBe('B:hello b');
  });

  it('terminates TLS in front of a plain TCP upstream', async () => {
    expect(await tlsExchange(proxy.ports.get('terminate')!, 'edge.test', 'through the terminator')).toBe('through the terminator');
  });

  it('originates TLS to the upstream (the cluster transport_socket)', async () => {
    const got = await exchange(proxy.ports.get('originate')!, 'plain in, tls out');
    expect(got.toString('latin1')).toBe('A:plain in, tls out');
  });
});
