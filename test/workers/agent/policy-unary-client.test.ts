// The agent's Check RPC on node:http2 (policy-unary-client.ts) against real
// servers on 127.0.0.1: a grpc-js Mixer server (answers, statuses,
// deadlines, a restart), nothing listening, and a raw HTTP/2 server sending
// what no gRPC server should (a bad length prefix, an oversize answer).
import { createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { mixerServiceDefinition } from '../../../src/xds/mixer-protos.js';
import { MAX_ANSWER, PolicyUnaryClient, type UnaryError } from '../../../workers/agent/policy-unary-client.js';
import { parseGrpcTimeout } from '../../../workers/http2/grpc-timeout.js';
import { startMixerServer, type MixerTestServer } from '../../support/mixer-test-server.js';
import { TestCa } from '../../support/tls-certs.js';

const check = mixerServiceDefinition().Check!;
const request = (user: string): Buffer => check.requestSerialize({
  attributes: { attributes: { 'request.headers': { string_map_value: { entries: { 'x-user': user } } } } }, quotas: {}, deduplication_id: '',
}) as Buffer;

interface Answer {
  readonly error: UnaryError | null;
  readonly response?: { precondition: { status: { code: number; message: string }; valid_use_count: number } };
}

function call(client: PolicyUnaryClient, body: Buffer, timeoutMs = 5000, path = check.path): Promise<Answer> {
  return new Promise((resolve) => client.call(path, body, timeoutMs, (error, answer) => {
    resolve({ error, response: answer === undefined ? undefined : check.responseDeserialize(answer) as Answer['response'] });
  }));
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function mixer(port = 0): Promise<MixerTestServer> {
  const server = await startMixerServer(port);
  cleanups.push(() => server.close());
  return server;
}

function client(port: number): PolicyUnaryClient {
  const c = new PolicyUnaryClient(`127.0.0.1:${port}`, null);
  cleanups.push(() => c.close());
  return c;
}

async function rawServer(answer: (stream: import('node:http2').ServerHttp2Stream) => void, onHeaders?: (headers: import('node:http2').IncomingHttpHeaders) => void): Promise<number> {
  const server: Http2Server = createServer();
  server.on('stream', (stream, headers) => {
    onHeaders?.(headers);
    stream.on('error', () => undefined);
    stream.resume();
    stream.on('end', () => answer(stream));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => {
    server.close(() => r());
    (server as unknown as { closeAllSessions?: () => void }).closeAllSessions?.();
  }));
  return (server.address() as AddressInfo).port;
}

describe('PolicyUnaryClient', () => {
  it('sends a Check to a grpc-js Mixer server and returns its answer, many on one connection', async () => {
    const server = await mixer();
    server.behaviour.denyUser = 'beta';
    server.behaviour.validUseCount = 77;
    const c = client(server.port);
    const answers = await Promise.all([call(c, request('beta')), ...Array.from({ length: 20 }, (_, i) => call(c, request(`user-${i}`)))]);
    expect(answers[0]!.error).toBeNull();
    expect(answers[0]!.response!.precondition.status).toMatchObject({ code: 7, message: 'user beta is denied' });
    for (const a of answers.slice(1)) {
      expect(a.error).toBeNull();
      expect(a.response!.precondition.status.code).toBe(0);
      expect(a.response!.precondition.valid_use_count).toBe(77);
    }
    expect(server.checks).toHaveLength(21);
    expect(server.checks[0]!.attributes['request.headers']).toMatchObject({ string_map_value: { entries: { 'x-user': 'beta' } } });
  });

  it('passes on the server\'s status and its decoded message', async () => {
    const server = new grpc.Server();
    server.addService(mixerServiceDefinition(), {
      Check: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'über quota: 100%' } as grpc.ServiceError),
      Report: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    });
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e === null ? resolve(p) : reject(e))));
    cleanups.push(() => server.forceShutdown());
    const a = await call(client(port), request('x'));
    expect(a.error).toEqual({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'über quota: 100%' });
  });

  it('gives up at the deadline with DEADLINE_EXCEEDED, and the connection still serves the next Check', async () => {
    const server = await mixer();
    server.behaviour.delayMs = 2000;
    const c = client(server.port);
    const a = await call(c, request('slow'), 100);
    expect(a.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    server.behaviour.delayMs = 0;
    expect((await call(c, request('fast'))).error).toBeNull();
  });

  it('answers UNAVAILABLE when nothing listens, then reaches a server that starts on that port', async () => {
    const first = await mixer();
    const port = first.port;
    await first.close();
    const c = client(port);
    const a = await call(c, request('x'), 2000);
    expect(a.error?.code).toBe(grpc.status.UNAVAILABLE);
    await mixer(port);
    expect((await call(c, request('x'))).error).toBeNull();
  });

  it('refuses an answer whose length prefix does not match, and one larger than MAX_ANSWER, without throwing', async () => {
    const bad = await rawServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 9, 1, 2]));
    });
    expect((await call(client(bad), request('x'))).error?.code).toBe(grpc.status.INTERNAL);
    const huge = await rawServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      const chunk = Buffer.alloc(256 * 1024);
      let sent = 0;
      const more = (): void => {
        while (sent <= MAX_ANSWER + 5 && !stream.destroyed) {
          sent += chunk.length;
          if (!stream.write(chunk)) {
            stream.once('drain', more);
            return;
          }
        }
        if (!stream.destroyed) stream.end();
      };
      more();
    });
    expect((await call(client(huge), request('x'), 10_000)).error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const notGrpc = await rawServer((stream) => stream.respond({ ':status': 404 }, { endStream: true }));
    expect((await call(client(notGrpc), request('x'))).error).toMatchObject({ code: grpc.status.UNKNOWN, details: 'HTTP status 404' });
  });

  it('waits for the answer under a check_timeout past Node\'s timer range (30 days), and sends a grpc-timeout the spec allows', async () => {
    const timeouts: string[] = [];
    const answer = check.responseSerialize({ precondition: { status: { code: 0, message: '' }, valid_use_count: 3 } }) as Buffer;
    const framed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), answer]);
    framed.writeUInt32BE(answer.length, 1);
    const slow = await rawServer((stream) => {
      setTimeout(() => {
        if (stream.destroyed) return;
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(framed);
      }, 300);
    }, (headers) => timeouts.push(String(headers['grpc-timeout'])));
    const thirtyDays = 30 * 24 * 3600 * 1000;
    const a = await call(client(slow), request('x'), thirtyDays);
    expect(a.error).toBeNull();
    expect(a.response!.precondition.valid_use_count).toBe(3);
    expect(timeouts).toHaveLength(1);
    const sent = timeouts[0]!;
    expect(sent.length).toBeLessThanOrEqual(9);
    expect(parseGrpcTimeout(sent)).toBeGreaterThanOrEqual(thirtyDays);
  });

  it('reads a trailers-only status without grpc-message as that status, and a status that is not a gRPC code as UNKNOWN', async () => {
    const denied = await rawServer((stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '7' }, { endStream: true }));
    expect((await call(client(denied), request('x'))).error).toEqual({ code: grpc.status.PERMISSION_DENIED, details: 'grpc-status 7' });
    const odd = await rawServer((stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': 'seven', 'grpc-message': 'odd' }, { endStream: true }));
    expect((await call(client(odd), request('x'))).error).toEqual({ code: grpc.status.UNKNOWN, details: 'odd' });
  });

  it('speaks TLS to a server whose certificate chains to the given CA, and refuses one that does not', async () => {
    const ca = new TestCa();
    const leaf = ca.leaf({ cn: 'control', dns: ['localhost'] });
    const server = new grpc.Server();
    server.addService(mixerServiceDefinition(), {
      Check: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { precondition: { status: { code: 0, message: '' }, valid_use_count: 5 } }),
      Report: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, {}),
    });
    const creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(leaf.cert), private_key: Buffer.from(leaf.key) }]);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('localhost:0', creds, (e, p) => (e === null ? resolve(p) : reject(e))));
    cleanups.push(() => server.forceShutdown());
    const trusted = new PolicyUnaryClient(`localhost:${port}`, Buffer.from(ca.cert));
    cleanups.push(() => trusted.close());
    const ok = await call(trusted, request('x'));
    expect(ok.error).toBeNull();
    expect(ok.response!.precondition.valid_use_count).toBe(5);
    const stranger = new PolicyUnaryClient(`localhost:${port}`, Buffer.from(new TestCa('Other CA').cert));
    cleanups.push(() => stranger.close());
    expect((await call(stranger, request('x'))).error?.code).toBe(grpc.status.UNAVAILABLE);
  });
});
