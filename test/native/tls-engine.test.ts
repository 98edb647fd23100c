// The TLS engine (native/tls_*.cc) through its N-API face: an engine server and
// an engine client talk through memory, and Node's own tls client talks to an
// engine server over a real socket. Certificates are made per run with openssl.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TLS_STATUS, TLS_VERSION, tlsContextCertificates, tlsCreateContext, tlsCreateSession, tlsSessionError, tlsSessionFeed,
  tlsSessionFree, tlsSessionPeer, tlsSessionTakeCiphertext, tlsSessionWrite,
  type TlsContextConfig, type TlsSanMatcher, type TlsSessionHandle,
} from '../../src/native.js';
import { TestCa, type Pem } from '../support/tls-certs.js';

let ca: TestCa;
let otherCa: TestCa;
let server: Pem;
let wildcard: Pem;
let client: Pem;
let strangerClient: Pem;
let expiredClient: Pem;

beforeAll(() => {
  ca = new TestCa();
  otherCa = new TestCa('Other CA');
  server = ca.leaf({ cn: 'default', dns: ['default.test'] });
  wildcard = ca.leaf({ cn: 'wild', dns: ['*.example.com'] });
  client = ca.leaf({ cn: 'client', uri: ['spiffe://cluster.local/ns/default/sa/client'] });
  strangerClient = otherCa.leaf({ cn: 'stranger', uri: ['spiffe://cluster.local/ns/default/sa/client'] });
  expiredClient = ca.expiredLeaf({ cn: 'expired', uri: ['spiffe://cluster.local/ns/default/sa/client'] });
}, 30_000);

const plain = Buffer.alloc(64 * 1024);
const state = new Uint32Array(2);

interface Side {
  readonly session: TlsSessionHandle;
  readonly received: Buffer[];
  status: number;
}

function side(session: TlsSessionHandle): Side {
  return { session, received: [], status: 0 };
}

/** Feeds `cipher` to a side and collects its plaintext; returns the ciphertext it wants to send. */
function feed(s: Side, cipher: Buffer | null): Buffer | null {
  let start = 0;
  const data = cipher ?? Buffer.alloc(0);
  for (;;) {
    const n = tlsSessionFeed(s.session, data, start, data.length, plain, 0, state);
    start = data.length;
    if (n > 0) s.received.push(Buffer.from(plain.subarray(0, n)));
    s.status = state[0]!;
    if (!(state[0]! & TLS_STATUS.PLAINTEXT_PENDING)) break;
  }
  return tlsSessionTakeCiphertext(s.session);
}

/** Runs the exchange until neither side has anything to say. */
function pump(c: Side, s: Side): void {
  let toServer = feed(c, null);
  for (let i = 0; i < 20; i++) {
    const toClient = feed(s, toServer);
    toServer = feed(c, toClient);
    if (toServer === null && toClient === null) break;
  }
}

function pair(serverConfig: Partial<TlsContextConfig>, clientConfig: Partial<TlsContextConfig>, sni = '', expected?: TlsSanMatcher):
  { c: Side; s: Side } {
  const sctx = tlsCreateContext({ server: true, certificates: [{ chain: server.cert, key: server.key }], ...serverConfig });
  const cctx = tlsCreateContext({ server: false, ...clientConfig });
  const s = side(tlsCreateSession(sctx, ''));
  const c = side(tlsCreateSession(cctx, sni, expected));
  pump(c, s);
  return { c, s };
}

describe('TLS engine in memory', () => {
  it('completes a TLS 1.3 handshake, agrees on ALPN and moves data both ways', () => {
    const { c, s } = pair({ alpn: ['h2', 'http/1.1'] }, { trustedCa: ca.cert, alpn: ['http/1.1'] }, 'default.test');
    expect(c.status & TLS_STATUS.HANDSHAKE_DONE).toBeTruthy();
    expect(s.status & TLS_STATUS.HANDSHAKE_DONE).toBeTruthy();
    expect(tlsSessionPeer(s.session).alpn).toBe('http/1.1');
    expect(tlsSessionPeer(c.session).version).toBe('TLSv1.3');
    expect(tlsSessionPeer(s.session).serverName).toBe('default.test');
    const big = Buffer.alloc(300_000, 7);
    const out = tlsSessionWrite(c.session, big, 0, big.length);
    feed(s, out);
    expect(Buffer.concat(s.received).equals(big)).toBe(true);
    feed(c, tlsSessionWrite(s.session, Buffer.from('pong'), 0, 4));
    expect(Buffer.concat(c.received).toString()).toBe('pong');
  });

  it('honours TLS 1.2 as the maximum', () => {
    const { c } = pair({ maxVersion: TLS_VERSION.TLS1_2 }, { trustedCa: ca.cert });
    expect(tlsSessionPeer(c.session).version).toBe('TLSv1.2');
  });

  it('picks the certificate by SNI, with wildcard names, and the default otherwise', () => {
    const sctx = tlsCreateContext({ server: true, certificates: [{ chain: server.cert, key: server.key }, { chain: wildcard.cert, key: wildcard.key }] });
    const cctx = tlsCreateContext({ server: false, trustedCa: ca.cert });
    const subjectFor = (sni: string): string => {
      const s = side(tlsCreateSession(sctx, ''));
      const c = side(tlsCreateSession(cctx, sni));
      pump(c, s);
      return tlsSessionPeer(c.session).certificate!.subject;
    };
    expect(subjectFor('api.example.com')).toBe('CN=wild');
    expect(subjectFor('default.test')).toBe('CN=default');
    expect(subjectFor('a.b.example.com')).toBe('CN=default');
    expect(subjectFor('')).toBe('CN=default');
  });

  it('verifies a client certificate and hands over its URI SAN, subject and digest', () => {
    const { s } = pair({ trustedCa: ca.cert, requireClientCertificate: true },
      { trustedCa: ca.cert, certificates: [{ chain: client.cert, key: client.key }] });
    expect(s.status & TLS_STATUS.HANDSHAKE_DONE).toBeTruthy();
    const peer = tlsSessionPeer(s.session).certificate!;
    expect(peer.uriSans).toEqual(['spiffe://cluster.local/ns/default/sa/client']);
    expect(peer.subject).toBe('CN=client');
    expect(peer.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a client certificate from an unknown CA, an expired one, and none when one is required', () => {
    for (const cert of [strangerClient, expiredClient, null]) {
      const { s, c } = pair({ trustedCa: ca.cert, requireClientCertificate: true },
        { trustedCa: ca.cert, certificates: cert === null ? [] : [{ chain: cert.cert, key: cert.key }] });
      expect(s.status & TLS_STATUS.FAILED).toBeTruthy();
      expect(s.status & TLS_STATUS.HANDSHAKE_DONE).toBeFalsy();
      // The client learns through the alert (TLS 1.3 clients finish first, then fail on the alert).
      expect(c.status & TLS_STATUS.FAILED).toBeTruthy();
    }
  });

  it('checks SAN matchers: an accepted and a refused server identity', () => {
    const uriServer = ca.leaf({ cn: 'svc', uri: ['spiffe://cluster.local/ns/prod/sa/api'] });
    const config = { certificates: [{ chain: uriServer.cert, key: uriServer.key }] };
    const ok = pair(config, { trustedCa: ca.cert }, '', { type: 'URI', kind: 'prefix', value: 'spiffe://cluster.local/ns/prod/' });
    expect(ok.c.status & TLS_STATUS.HANDSHAKE_DONE).toBeTruthy();
    const bad = pair(config, { trustedCa: ca.cert }, '', { type: 'URI', kind: 'exact', value: 'spiffe://cluster.local/ns/prod/sa/other' });
    expect(bad.c.status & TLS_STATUS.FAILED).toBeTruthy();
    expect(tlsSessionError(bad.c.session)).toContain('subject-alt-name');
    const viaContext = pair(config, { trustedCa: ca.cert, sanMatchers: [{ type: 'URI', kind: 'suffix', value: '/sa/nope' }] });
    expect(viaContext.c.status & TLS_STATUS.FAILED).toBeTruthy();
  });

  it('resumes a client session with a ticket', () => {
    const sctx = tlsCreateContext({ server: true, certificates: [{ chain: server.cert, key: server.key }] });
    const cctx = tlsCreateContext({ server: false, trustedCa: ca.cert });
    const run = (): boolean => {
      const s = side(tlsCreateSession(sctx, ''));
      const c = side(tlsCreateSession(cctx, 'default.test'));
      pump(c, s);
      // TLS 1.3 tickets follow the handshake; a byte of data makes the client read them.
      feed(c, tlsSessionWrite(s.session, Buffer.from('x'), 0, 1));
      return tlsSessionPeer(c.session).resumed;
    };
    expect(run()).toBe(false);
    expect(run()).toBe(true);
  });

  it('rejects bad config with a clear error and lists certificates without keys', () => {
    expect(() => tlsCreateContext({ server: true, certificates: [{ chain: 'nope', key: server.key }] })).toThrow(/no PEM certificate/);
    expect(() => tlsCreateContext({ server: true, certificates: [{ chain: server.cert, key: client.key }] })).toThrow(/does not match/);
    expect(() => tlsCreateContext({ server: true, certificates: [] })).toThrow(/at least one certificate/);
    expect(() => tlsCreateContext({ server: true, certificates: [{ chain: server.cert, key: server.key }], requireClientCertificate: true }))
      .toThrow(/trusted CA/);
    const ctx = tlsCreateContext({ server: true, certificates: [{ chain: server.cert, key: server.key }], trustedCa: ca.cert });
    const listed = tlsContextCertificates(ctx);
    expect(listed.certificates[0]!.dnsSans).toEqual(['default.test']);
    expect(listed.trustedCas[0]!.subject).toBe('CN=Isthmus Test CA');
    expect(JSON.stringify(listed)).not.toContain('PRIVATE');
  });

  it('survives garbage, truncated records and a ClientHello fed a byte at a time', () => {
    const sctx = tlsCreateContext({ server: true, certificates: [{ chain: server.cert, key: server.key }] });
    const cctx = tlsCreateContext({ server: false, trustedCa: ca.cert });
    const garbage = side(tlsCreateSession(sctx, ''));
    feed(garbage, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(garbage.status & TLS_STATUS.FAILED).toBeTruthy();
    for (let seed = 1; seed < 50; seed++) {
      const s = side(tlsCreateSession(sctx, ''));
      const junk = Buffer.alloc(seed * 37);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * seed * 2654435761) >>> 24;
      junk[0] = 22; junk[1] = 3; junk[2] = 1; // looks like a handshake record
      feed(s, junk);
      tlsSessionFree(s.session);
    }
    const s = side(tlsCreateSession(sctx, ''));
    const c = side(tlsCreateSession(cctx, 'default.test'));
    const hello = feed(c, null)!;
    for (let i = 0; i < hello.length; i++) expect(feed(s, hello.subarray(i, i + 1)) === null).toBe(i < hello.length - 1);
    const truncated = side(tlsCreateSession(sctx, ''));
    feed(truncated, hello.subarray(0, hello.length - 3));
    expect(truncated.status & (TLS_STATUS.FAILED | TLS_STATUS.HANDSHAKE_DONE)).toBe(0);
    tlsSessionFree(truncated.session);
    expect(() => feed(truncated, null)).toThrow(/freed/);
  });

  it('decrypts records however the ciphertext is cut: a few bytes at a time, many records at once, a large write', () => {
    const { c, s } = pair({}, { trustedCa: ca.cert }, 'default.test');
    const parts: Buffer[] = [];
    for (let i = 0; i < 40; i++) parts.push(Buffer.alloc(100 + i * 37, 97 + (i % 26)));
    const want = Buffer.concat(parts);
    const cipher = Buffer.concat(parts.map((p) => tlsSessionWrite(c.session, p, 0, p.length)!));
    // Odd-sized pieces leave partial records (and partial headers) waiting between feeds.
    for (let at = 0; at < cipher.length; at += 7) feed(s, cipher.subarray(at, Math.min(at + 7, cipher.length)));
    expect(Buffer.concat(s.received).equals(want)).toBe(true);
    // All 40 records in one feed, then a 3 MB write (records of 16 KB) the other way, then a small one again.
    s.received.length = 0;
    feed(s, Buffer.concat(parts.map((p) => tlsSessionWrite(c.session, p, 0, p.length)!)));
    expect(Buffer.concat(s.received).equals(want)).toBe(true);
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    // Fed as a socket would hand it over (the engine refuses more than 1 MB of unprocessed input at once).
    const bigCipher = tlsSessionWrite(s.session, big, 0, big.length)!;
    for (let at = 0; at < bigCipher.length; at += 65536) feed(c, bigCipher.subarray(at, at + 65536));
    const small = Buffer.from('after the big one');
    feed(c, tlsSessionWrite(s.session, small, 0, small.length));
    expect(Buffer.concat(c.received).equals(Buffer.concat([big, small]))).toBe(true);
    expect((s.status | c.status) & TLS_STATUS.FAILED).toBe(0);
  });
});

describe('TLS engine with Node tls client over a socket', () => {
  let srv: net.Server;
  let port = 0;
  beforeAll(async () => {
    const sctx = tlsCreateContext({ server: true, certificates: [{ chain: server.cert, key: server.key }], alpn: ['http/1.1'] });
    srv = net.createServer((sock) => {
      const session = tlsCreateSession(sctx, '');
      const st = new Uint32Array(2);
      const out = Buffer.alloc(16 * 1024);
      sock.on('data', (chunk: Buffer) => {
        let start = 0;
        for (;;) {
          const n = tlsSessionFeed(session, chunk, start, chunk.length, out, 0, st);
          start = chunk.length;
          const flight = tlsSessionTakeCiphertext(session);
          if (flight !== null) sock.write(flight);
          if (n > 0) { // echo, upper-cased
            const reply = Buffer.from(out.subarray(0, n).toString('latin1').toUpperCase(), 'latin1');
            sock.write(tlsSessionWrite(session, reply, 0, reply.length)!);
          }
          if (st[0]! & TLS_STATUS.FAILED) { sock.destroy(); break; }
          if (!(st[0]! & TLS_STATUS.PLAINTEXT_PENDING)) break;
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as net.AddressInfo).port;
  });
  afterAll(() => srv.close());

  it('serves Node tls with ALPN and echoes 1 MB intact', async () => {
    const sock = tls.connect({ host: '127.0.0.1', port, ca: ca.cert, servername: 'default.test', ALPNProtocols: ['http/1.1'] });
    await new Promise<void>((r, j) => { sock.once('secureConnect', r); sock.once('error', j); });
    expect(sock.alpnProtocol).toBe('http/1.1');
    const body = Buffer.alloc(1 << 20, 'a');
    const chunks: Buffer[] = [];
    let total = 0;
    const done = new Promise<void>((r) => sock.on('data', (c: Buffer) => { chunks.push(c); total += c.length; if (total >= body.length) r(); }));
    sock.write(body);
    await done;
    expect(Buffer.concat(chunks).equals(Buffer.alloc(1 << 20, 'A'))).toBe(true);
    sock.destroy();
  });
});
