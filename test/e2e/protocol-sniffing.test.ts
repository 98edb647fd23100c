// envoy.filters.listener.http_inspector: one listener (as the control plane
// builds for a port with no declared protocol) with an HTTP chain matching
// application_protocols http/1.1, http/1.0, h2c and a raw TCP chain. An HTTP/1.1
// client reaches the HTTP connection manager (routed, answered by the HTTP
// upstream), a raw TCP client reaches the tcp_proxy (echoed), and a
// server-first client that sends nothing still reaches the TCP chain once
// listener_filters_timeout passes (continue_on_listener_filters_timeout).
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';
import { exchange, startTcpEcho, tcpCluster, tcpProxyFilter, type TcpServer } from '../support/tcp-peers.js';

const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function sniffedListener(): Record<string, unknown> {
  return {
    name: 'sniffed',
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    listener_filters: [{ name: 'envoy.filters.listener.http_inspector', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector' } }],
    listener_filters_timeout: '0.3s',
    continue_on_listener_filters_timeout: true,
    filter_chains: [
      {
        filter_chain_match: { application_protocols: ['http/1.1', 'http/1.0', 'h2c'] },
        filters: [{
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type': HCM,
            stat_prefix: 'sniffed_http',
            route_config: { name: 'local', virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'http' } }] }] },
          },
        }],
      },
      { filters: [tcpProxyFilter({ cluster: 'tcp' }, 'sniffed_tcp')] },
    ],
  };
}

describe.each(['node', 'native'] as const)('protocol sniffing with the http_inspector (%s transport)', { timeout: 30_000 }, (transport) => {
  let http: Upstream;
  let echo: TcpServer;
  let proxy: RunningProxy;

  beforeAll(async () => {
    [http, echo] = await Promise.all([startUpstream(), startTcpEcho()]);
    proxy = await startProxy({
      args: ['--transport', transport],
      bootstrap: { static_resources: { listeners: [sniffedListener()], clusters: [tcpCluster('http', [http.port]), tcpCluster('tcp', [echo.port])] } },
    });
  }, 30_000);

  afterAll(async () => {
    await proxy?.stop();
    await http?.close();
    await echo?.close();
  });

  it('routes an HTTP/1.1 request through the HTTP chain', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      let text = '';
      const s = net.connect(proxy.port, '127.0.0.1', () => s.write('GET /hello HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n'));
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        text += d;
      });
      s.on('error', reject);
      s.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toContain('/hello');
  });

  it('relays raw TCP through the tcp_proxy chain', async () => {
    const got = await exchange(proxy.port, '\x00\x01binary protocol hello\r\n');
    expect(got.toString('latin1')).toBe('\x00\x01binary protocol hello\r\n');
  });

  it('a client that waits for the server first reaches the TCP chain after listener_filters_timeout', async () => {
    const got = await new Promise<string>((resolve, reject) => {
      let text = '';
      const s = net.connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true }, () => {
        // Silent past the 0.3 s timeout, then talk: the bytes reach the echo upstream (the TCP chain).
        setTimeout(() => s.end('late words'), 800);
      });
      s.setEncoding('latin1');
      s.on('data', (d: string) => {
        text += d;
      });
      s.on('error', reject);
      s.on('close', () => resolve(text));
    });
    expect(got).toBe('late words');
  });
});
