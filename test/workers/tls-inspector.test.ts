// The tls_inspector's ClientHello reader and Envoy's filter-chain choice, on
// real ClientHellos captured from Node's tls client.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import type { FilterChain } from '../../src/config/bootstrap-types.js';
import { selectFilterChain } from '../../workers/filter-chain-select.js';
import { INSPECT_MORE, INSPECT_PLAINTEXT, INSPECT_TLS, inspectClientHello, type ClientHelloInfo } from '../../workers/tls-inspector.js';

async function clientHello(servername: string, alpn: string[]): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => { resolve(d); s.destroy(); })));
  const client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, servername, ALPNProtocols: alpn, rejectUnauthorized: false });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

function inspect(buf: Buffer, end = buf.length): { r: number; info: ClientHelloInfo } {
  const info: ClientHelloInfo = { sni: '', alpn: [] };
  return { r: inspectClientHello(buf, 0, end, info), info };
}

function chain(serverNames: string[], transportProtocol: '' | 'tls' | 'raw_buffer', applicationProtocols: string[] = []): FilterChain {
  return { match: { serverNames, transportProtocol, applicationProtocols }, tls: null, hcm: null as unknown as FilterChain['hcm'] };
}

describe('tls_inspector', () => {
  it('reads SNI and ALPN from a ClientHello, waits for the rest of a partial one, and tells plaintext apart', async () => {
    const hello = await clientHello('API.Example.com', ['h2', 'http/1.1']);
    expect(inspect(hello)).toEqual({ r: INSPECT_TLS, info: { sni: 'api.example.com', alpn: ['h2', 'http/1.1'] } });
    for (let n = 0; n < hello.length; n++) expect(inspect(hello, n).r).toBe(INSPECT_MORE);
    expect(inspect(Buffer.from('GET / HTTP/1.1\r\n')).r).toBe(INSPECT_PLAINTEXT);
    expect(inspect(Buffer.from([0x16, 0x02, 0x00])).r).toBe(INSPECT_PLAINTEXT);
  });

  it('never reads past what it was given, whatever the lengths claim', async () => {
    const hello = await clientHello('a.test', ['http/1.1']);
    for (let i = 9; i < hello.length; i++) {
      for (const v of [0, 0xff]) {
        const bad = Buffer.from(hello);
        bad[i] = v;
        expect([INSPECT_TLS, INSPECT_MORE, INSPECT_PLAINTEXT]).toContain(inspect(bad).r);
      }
    }
  });
});

describe('filter chain choice', () => {
  const chains = [
    chain(['api.example.com'], 'tls'),
    chain(['*.example.com'], 'tls'),
    chain([], 'tls', ['istio-peer-exchange']),
    chain([], 'tls'),
    chain([], 'raw_buffer'),
  ];
  it('prefers an exact server name, then the wildcard, then chains naming none; then transport and ALPN', () => {
    expect(selectFilterChain(chains, 'tls', 'api.example.com', [])).toBe(0);
    expect(selectFilterChain(chains, 'tls', 'www.example.com', [])).toBe(1);
    expect(selectFilterChain(chains, 'tls', 'other.test', ['istio-peer-exchange', 'http/1.1'])).toBe(2);
    expect(selectFilterChain(chains, 'tls', 'other.test', ['http/1.1'])).toBe(3);
    expect(selectFilterChain(chains, 'raw_buffer', '', [])).toBe(4);
    expect(selectFilterChain([chain(['a.test'], '')], 'tls', 'b.test', [])).toBe(-1);
  });
});
