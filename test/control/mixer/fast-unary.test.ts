// The policy services' lean unary path on a real @grpc/grpc-js server on
// 127.0.0.1: a real grpc-js client (the proxy's agent and Envoy-proto clients
// use it) gets the same answers and statuses as from grpc-js's own path;
// methods not given to the lean path still go through grpc-js on the same
// port; and what a hostile peer can send (no gRPC content type, a
// compressed, truncated or oversized message, bytes that are not the message)
// gets a gRPC status, never a crash.
import { connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { credentials, makeGenericClientConstructor, Server, ServerCredentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_FAST_REQUEST, serveUnaryFast, type FastHandler } from '../../../control/mixer/fast-unary.js';
import { extAuthzServiceDefinition, mixerServiceDefinition } from '../../../control/mixer/mixer-protos.js';
import { encodeAttributes } from '../../../control/mixer/attribute-message.js';

type Unary = (request: unknown, callback: (err: ServiceError | null, response?: unknown) => void) => void;

let server: Server;
let port: number;
const closers: (() => void)[] = [];
let lastCheck: unknown;

const checkHandler = ((call: { request: { deduplication_id?: string } }, callback: (e: unknown, v?: unknown) => void) => {
  lastCheck = call.request;
  const words = [call.request.deduplication_id ?? ''];
  if (words.includes('deny')) {
    callback({ code: status.PERMISSION_DENIED, details: 'denied: ünïcode, spaces & 100%' });
    return;
  }
  if (words.includes('later')) {
    setTimeout(() => callback(null, { precondition: { status: { code: 0, message: 'later' }, valid_use_count: 3 } }), 20);
    return;
  }
  if (words.includes('throw')) throw new Error('handler bug');
  callback(null, { precondition: { status: { code: 0, message: '' }, valid_duration: { seconds: 5, nanos: 0 }, valid_use_count: 42 } });
}) as unknown as FastHandler;

beforeEach(async () => {
  server = new Server();
  const mixer = mixerServiceDefinition();
  // grpc-js serves Report; the lean path serves Check (and ext_authz's Check).
  server.addService(mixer, {
    Check: (_call: unknown, cb: (e: unknown, v?: unknown) => void) => cb({ code: status.INTERNAL, details: 'grpc-js path used' }),
    Report: (_call: unknown, cb: (e: unknown, v?: unknown) => void) => cb(null, {}),
  });
  expect(serveUnaryFast(server, mixer, { Check: checkHandler })).toBe(true);
  const authz = extAuthzServiceDefinition();
  const authzCheck = ((call: { request: { attributes?: { request?: { http?: { path?: string } } } } }, cb: (e: unknown, v?: unknown) => void) => {
    const path = call.request.attributes?.request?.http?.path ?? '';
    cb(null, path.startsWith('/admin')
      ? { status: { code: 7, message: 'no' }, denied_response: { status: { code: 'Forbidden' }, body: 'no\n' } }
      : { status: { code: 0, message: '' }, ok_response: {} });
  }) as unknown as FastHandler;
  server.addService(authz, { Check: authzCheck });
  serveUnaryFast(server, authz, { Check: authzCheck });
  port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err === null ? resolve(p) : reject(err))));
});

afterEach(() => {
  for (const close of closers.splice(0)) close();
  server.forceShutdown();
});

function grpcClient(name: 'Mixer' | 'Authorization'): Client & Record<string, Unary> {
  const Ctor = makeGenericClientConstructor((name === 'Mixer' ? mixerServiceDefinition() : extAuthzServiceDefinition()) as never, name);
  const client = new Ctor(`127.0.0.1:${port}`, credentials.createInsecure()) as Client & Record<string, Unary>;
  closers.push(() => client.close());
  return client;
}

function call(client: Client & Record<string, Unary>, method: string, request: unknown): Promise<{ err: ServiceError | null; response: unknown }> {
  return new Promise((resolve) => client[method]!.call(client, request, (err, response) => resolve({ err, response })));
}

/** A CheckRequest; its deduplication_id tells the test handler what to answer. */
const checkRequest = (word = 'ok') => ({ attributes: encodeAttributes({ 'request.method': 'GET' }), deduplication_id: word });

interface RawAnswer {
  readonly headers: Record<string, unknown>;
  readonly body: Buffer;
  readonly trailers: Record<string, unknown>;
}

/** One HTTP/2 stream sent by hand: what a peer that is not grpc-js may send. */
function raw(path: string, body: Buffer, headers: Record<string, string> = {}): Promise<RawAnswer> {
  const session: ClientHttp2Session = connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.close());
  return new Promise((resolve, reject) => {
    const stream = session.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: path, 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let answer: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (answer = { ...h }));
    stream.on('trailers', (t) => (trailers = { ...t }));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('close', () => resolve({ headers: answer, body: Buffer.concat(chunks), trailers }));
    stream.end(body);
  });
}

/** One HTTP/2 stream whose body goes in the given pieces (each its own DATA frame), the stream left open unless `end`. */
function rawPieces(path: string, pieces: readonly Buffer[], end: boolean): Promise<RawAnswer | 'no answer'> {
  const session: ClientHttp2Session = connect(`http://127.0.0.1:${port}`);
  closers.push(() => session.destroy());
  return new Promise((resolve) => {
    const stream = session.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: path, 'content-type': 'application/grpc', te: 'trailers' });
    let answer: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => resolve('no answer'), 5000);
    stream.on('response', (h) => (answer = { ...h }));
    stream.on('trailers', (t) => (trailers = { ...t }));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('close', () => {
      clearTimeout(timer);
      resolve({ headers: answer, body: Buffer.concat(chunks), trailers });
    });
    const send = (i: number): void => {
      if (i === pieces.length) {
        if (end) stream.end();
        return;
      }
      stream.write(pieces[i], () => setImmediate(() => send(i + 1)));
    };
    send(0);
  });
}

function frame(message: Buffer, compressed = 0): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

const encodedCheck = (): Buffer => mixerServiceDefinition().Check!.requestSerialize(checkRequest()) as Buffer;
/** The status of an answer, trailers-only or not. */
const statusOf = (a: RawAnswer): string => String(a.trailers['grpc-status'] ?? a.headers['grpc-status']);

describe('the lean unary path for the policy services', () => {
  it('answers a grpc-js client, decoding its request with the service proto, and answers on the lean path (not grpc-js)', async () => {
    const { err, response } = await call(grpcClient('Mixer'), 'Check', checkRequest());
    expect(err).toBeNull();
    expect(response).toEqual(expect.objectContaining({ precondition: expect.objectContaining({ valid_use_count: 42, valid_duration: { seconds: 5, nanos: 0 } }) }));
    expect(lastCheck).toEqual(expect.objectContaining({ deduplication_id: 'ok', attributes: { attributes: { 'request.method': expect.objectContaining({ string_value: 'GET' }) } } }));
    // The methods the lean path does not serve still reach grpc-js on the same port.
    expect((await call(grpcClient('Mixer'), 'Report', { attributes: [] })).err).toBeNull();
  });

  it('gives a grpc-js client the handler\'s status and message (percent-encoded on the wire), and answers given later', async () => {
    const client = grpcClient('Mixer');
    const denied = await call(client, 'Check', checkRequest('deny'));
    expect(denied.err?.code).toBe(status.PERMISSION_DENIED);
    expect(denied.err?.details).toBe('denied: ünïcode, spaces & 100%');
    const later = await call(client, 'Check', checkRequest('later'));
    expect(later.err).toBeNull();
    expect(later.response).toEqual(expect.objectContaining({ precondition: expect.objectContaining({ status: expect.objectContaining({ message: 'later' }) }) }));
    const thrown = await call(client, 'Check', checkRequest('throw'));
    expect(thrown.err?.code).toBe(status.INTERNAL);
    // Many at once on one channel: each gets its own answer.
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => call(client, 'Check', checkRequest(i % 2 === 0 ? 'deny' : 'ok'))));
    expect(many.filter((r) => r.err?.code === status.PERMISSION_DENIED)).toHaveLength(100);
    expect(many.filter((r) => r.err === null)).toHaveLength(100);
  });

  it('serves Envoy\'s ext_authz Check to a grpc-js client with Envoy\'s proto', async () => {
    const client = grpcClient('Authorization');
    const ok = await call(client, 'Check', { attributes: { request: { http: { method: 'GET', path: '/api' } } } });
    expect(ok.err).toBeNull();
    expect(ok.response).toEqual(expect.objectContaining({ status: expect.objectContaining({ code: 0 }), http_response: 'ok_response' }));
    const no = await call(client, 'Check', { attributes: { request: { http: { method: 'GET', path: '/admin/x' } } } });
    expect(no.response).toEqual(expect.objectContaining({ status: expect.objectContaining({ code: 7 }), denied_response: expect.objectContaining({ body: 'no\n' }) }));
  });

  it('answers what a hostile peer sends with a gRPC status', async () => {
    const path = '/isthmus.mixer.v1.Mixer/Check';
    const good = await raw(path, frame(encodedCheck()));
    expect(good.headers[':status']).toBe(200);
    expect(good.headers['grpc-accept-encoding']).toBe('identity'); // the lean path's answer, not grpc-js's
    expect(statusOf(good)).toBe('0');
    expect(good.body.readUInt32BE(1)).toBe(good.body.length - 5);
    // Not gRPC.
    expect((await raw(path, frame(encodedCheck()), { 'content-type': 'text/plain' })).headers[':status']).toBe(415);
    // No message, a truncated one, two of them, a compressed one.
    expect(statusOf(await raw(path, Buffer.alloc(0)))).toBe(String(status.UNIMPLEMENTED));
    expect(statusOf(await raw(path, frame(encodedCheck()).subarray(0, 8)))).toBe(String(status.UNIMPLEMENTED));
    expect(statusOf(await raw(path, Buffer.concat([frame(encodedCheck()), frame(encodedCheck())])))).toBe(String(status.UNIMPLEMENTED));
    expect(statusOf(await raw(path, frame(encodedCheck(), 1), { 'grpc-encoding': 'gzip' }))).toBe(String(status.UNIMPLEMENTED));
    // Bytes that are not a CheckRequest.
    expect(statusOf(await raw(path, frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]))))).toBe(String(status.INTERNAL));
    // Over the bound: refused before it is all held.
    const big = Buffer.alloc(MAX_FAST_REQUEST + 64);
    big.writeUInt32BE(big.length - 5, 1);
    expect(statusOf(await raw(path, big))).toBe(String(status.RESOURCE_EXHAUSTED));
    // The server still answers.
    expect((await call(grpcClient('Mixer'), 'Check', checkRequest())).err).toBeNull();
  });

  it('refuses an oversized or second message when its prefix arrives (not at the stream\'s end), and takes a message sent byte by byte', async () => {
    const path = '/isthmus.mixer.v1.Mixer/Check';
    const status_ = (a: RawAnswer | 'no answer'): string => (a === 'no answer' ? a : statusOf(a));
    // A prefix declaring more than the bound, the stream then left open: refused at once.
    const over = Buffer.alloc(5);
    over.writeUInt32BE(MAX_FAST_REQUEST + 1, 1);
    expect(status_(await rawPieces(path, [over], false))).toBe(String(status.RESOURCE_EXHAUSTED));
    // A whole message and the start of a second, the stream left open: refused at once.
    const one = frame(encodedCheck());
    expect(status_(await rawPieces(path, [one, one.subarray(0, 3)], false))).toBe(String(status.UNIMPLEMENTED));
    // A message in 1-byte DATA frames is answered like one in a single frame.
    const bytes = [...one].map((b) => Buffer.from([b]));
    expect(status_(await rawPieces(path, bytes, true))).toBe('0');
    // A prefix declaring more than follows, then the end: truncated.
    const short = Buffer.concat([one, Buffer.alloc(0)]);
    short.writeUInt32BE(one.length, 1);
    expect(status_(await rawPieces(path, [short], true))).toBe(String(status.UNIMPLEMENTED));
    expect((await call(grpcClient('Mixer'), 'Check', checkRequest())).err).toBeNull();
  });

  it('leaves calls to grpc-js when the server has interceptors (they must run)', async () => {
    const intercepted = new Server({ interceptors: [(_method: unknown, call: never) => call] });
    intercepted.addService(mixerServiceDefinition(), {
      Check: (_call: unknown, cb: (e: unknown, v?: unknown) => void) => cb({ code: status.FAILED_PRECONDITION, details: 'grpc-js path used' }),
      Report: (_call: unknown, cb: (e: unknown, v?: unknown) => void) => cb(null, {}),
    });
    serveUnaryFast(intercepted, mixerServiceDefinition(), { Check: checkHandler });
    const p = await new Promise<number>((resolve, reject) => intercepted.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, bound) => (err === null ? resolve(bound) : reject(err))));
    closers.push(() => intercepted.forceShutdown());
    const Ctor = makeGenericClientConstructor(mixerServiceDefinition() as never, 'Mixer');
    const client = new Ctor(`127.0.0.1:${p}`, credentials.createInsecure()) as Client & Record<string, Unary>;
    closers.push(() => client.close());
    const { err } = await call(client, 'Check', checkRequest());
    expect(err?.code).toBe(status.FAILED_PRECONDITION);
  });
});
