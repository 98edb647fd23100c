// `isthmus control --policy-port`: the policy services (Mixer Check/Report,
// Envoy's ext_authz Check) on the addon's HTTP/2 server. A stock grpc-js
// client gets the same answers as on the xDS port (status, valid_duration,
// valid_use_count, referenced attributes); what a hostile peer sends (no
// gRPC content type, a bad or oversized prefix, a reset mid-call, an unknown
// method, hundreds of streams) gets a gRPC status or a refused stream, never
// a crash, and the port keeps answering.
import { connect, constants as h2, type ClientHttp2Session } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MixerClient, durationMs, referenced } from '../../../control/mixer/mixer-client.js';
import { mixerServiceDefinition } from '../../../control/mixer/mixer-protos.js';
import { encodeAttributes } from '../../../control/mixer/attribute-message.js';
import { MAX_POLICY_REQUEST } from '../../../control/mixer/native-grpc-call.js';
import { mixerDoc } from '../../support/mixer-config.js';
import { isthmus, startControl, type RunningControl } from './control-harness.js';

const DENY_BETA = [
  mixerDoc('handler', 'deny-beta', 'compiledAdapter: denier\nparams:\n  status: { code: 7, message: beta users are not allowed }\n  validDuration: 7s\n  validUseCount: 42'),
  mixerDoc('instance', 'nothing', 'compiledTemplate: checknothing'),
  mixerDoc('rule', 'deny-beta', 'match: request.headers["x-user"] == "beta"\nactions:\n- handler: deny-beta\n  instances: [nothing]'),
].join('---\n');

const CHECK = '/isthmus.mixer.v1.Mixer/Check';
let control: RunningControl;
let port: number;
const sessions: ClientHttp2Session[] = [];

beforeAll(async () => {
  control = await startControl((dir) => writeFileSync(join(dir, 'policy.yaml'), DENY_BETA), undefined, ['--policy-port', '0']);
  port = (control.lines.find((l) => l.msg === 'control ready')!.policy as { port: number }).port;
});

afterAll(async () => {
  for (const s of sessions) s.destroy();
  await control?.stop();
  control?.remove();
});

interface RawAnswer {
  readonly headers: Record<string, unknown>;
  readonly body: Buffer;
  readonly trailers: Record<string, unknown>;
  readonly resetCode: number;
}

function session(): ClientHttp2Session {
  const s = connect(`http://127.0.0.1:${port}`);
  s.on('error', () => {});
  sessions.push(s);
  return s;
}

/** One stream by hand: headers, then the body pieces (each its own DATA frame), ended unless `end` is false. */
function raw(path: string, pieces: readonly Buffer[], options: { headers?: Record<string, string>; end?: boolean; on?: ClientHttp2Session } = {}): Promise<RawAnswer | 'no answer'> {
  const s = options.on ?? session();
  return new Promise((resolve) => {
    const stream = s.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: path, 'content-type': 'application/grpc', te: 'trailers', ...options.headers });
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> = {};
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => resolve('no answer'), 5000);
    // A final status with the request still open: the client gives up its side (the server drops what it sends).
    const answered = (): void => {
      if (options.end === false) stream.close(h2.NGHTTP2_NO_ERROR);
    };
    stream.on('response', (h) => {
      headers = { ...h };
      if (h['grpc-status'] !== undefined) answered();
    });
    stream.on('trailers', (t) => {
      trailers = { ...t };
      answered();
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => {});
    stream.on('close', () => {
      clearTimeout(timer);
      resolve({ headers, body: Buffer.concat(chunks), trailers, resetCode: stream.rstCode ?? 0 });
    });
    const send = (i: number): void => {
      if (i === pieces.length) {
        if (options.end !== false) stream.end();
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

const encodedCheck = (user = 'alpha'): Buffer =>
  mixerServiceDefinition().Check!.requestSerialize({ attributes: encodeAttributes({ 'request.headers': { 'x-user': user } }), quotas: {}, deduplication_id: '' }) as Buffer;
const statusOf = (a: RawAnswer | 'no answer'): string => (a === 'no answer' ? a : String(a.trailers['grpc-status'] ?? a.headers['grpc-status']));

describe('isthmus control --policy-port', { timeout: 60_000 }, () => {
  it('answers a grpc-js client\'s Mixer Check (allow, deny with status, valid_duration, use count, references), Report and ext_authz as the xDS port does', async () => {
    const client = new MixerClient(port);
    const onXds = new MixerClient(control.xdsPort);
    try {
      const denied = await client.check({ 'request.headers': { 'x-user': 'beta' }, 'request.path': '/' });
      expect(denied.precondition.status.code).toBe(7);
      expect(denied.precondition.status.message).toBe('beta users are not allowed');
      expect(durationMs(denied.precondition.valid_duration)).toBe(7000);
      expect(denied.precondition.valid_use_count).toBe(42);
      expect(referenced(denied)).toEqual(['request.headers[x-user]:EXACT']);
      expect(denied).toEqual(await onXds.check({ 'request.headers': { 'x-user': 'beta' }, 'request.path': '/' }));
      const allowed = await client.check({ 'request.headers': { 'x-user': 'alpha' } });
      expect(allowed.precondition.status.code ?? 0).toBe(0);
      expect(referenced(allowed)).toEqual(['request.headers[x-user]:EXACT']);
      const absent = await client.check({ 'request.headers': { 'x-other': 'beta' } });
      expect(referenced(absent)).toEqual(['request.headers[x-user]:ABSENCE']);
      expect(await client.report([{ 'request.method': 'GET' }])).toEqual({});
      const authz = await client.extAuthz({ request: { http: { method: 'GET', path: '/', headers: { 'x-user': 'beta' } } } });
      expect(authz.status?.code).toBe(7);
      expect(authz.denied_response?.body).toBe('beta users are not allowed\n');
      const authzOk = await client.extAuthz({ request: { http: { method: 'GET', path: '/', headers: { 'x-user': 'alpha' } } } });
      expect(authzOk.status?.code ?? 0).toBe(0);
      // Many at once on one channel: each gets its own answer.
      const many = await Promise.all(Array.from({ length: 300 }, (_, i) => client.check({ 'request.headers': { 'x-user': i % 3 === 0 ? 'beta' : 'alpha' } })));
      expect(many.filter((a) => a.precondition.status.code === 7)).toHaveLength(100);
      const metrics = (await control.admin('/metrics')).text;
      expect(metrics).toMatch(/^isthmus_mixer_checks_total\{service="mixer",outcome="denied"\} 10[0-9]$/m);
    } finally {
      client.close();
      onXds.close();
    }
  });

  it('answers gRPC framing errors, a wrong content type, a wrong method and an unknown method with a status, and keeps serving', async () => {
    const good = await raw(CHECK, [frame(encodedCheck())]);
    expect(good).not.toBe('no answer');
    const g = good as RawAnswer;
    expect(g.headers[':status']).toBe(200);
    expect(g.headers['content-type']).toBe('application/grpc+proto');
    expect(statusOf(g)).toBe('0');
    expect(g.body.readUInt32BE(1)).toBe(g.body.length - 5);
    expect((await raw(CHECK, [frame(encodedCheck())], { headers: { 'content-type': 'text/plain' } }) as RawAnswer).headers[':status']).toBe(415);
    expect(statusOf(await raw('/isthmus.mixer.v1.Mixer/Nope', [frame(encodedCheck())]))).toBe('12');
    expect(statusOf(await raw('/grpc.health.v1.Health/Check', []))).toBe('12');
    expect(statusOf(await raw(CHECK, [], { headers: { [h2.HTTP2_HEADER_METHOD]: 'PUT' } }))).toBe('12');
    // No message, a truncated one, two, a compressed one, bytes that are not a CheckRequest.
    expect(statusOf(await raw(CHECK, []))).toBe('12');
    expect(statusOf(await raw(CHECK, [frame(encodedCheck()).subarray(0, 8)]))).toBe('12');
    expect(statusOf(await raw(CHECK, [frame(encodedCheck()).subarray(0, 3)]))).toBe('12');
    expect(statusOf(await raw(CHECK, [Buffer.concat([frame(encodedCheck()), frame(encodedCheck())])]))).toBe('12');
    expect(statusOf(await raw(CHECK, [frame(encodedCheck(), 1)], { headers: { 'grpc-encoding': 'gzip' } }))).toBe('12');
    expect(statusOf(await raw(CHECK, [frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]))]))).toBe('13');
    // A message in 1-byte DATA frames is answered like one in a single frame.
    expect(statusOf(await raw(CHECK, [...frame(encodedCheck('beta'))].map((b) => Buffer.from([b]))))).toBe('0');
    const client = new MixerClient(port);
    try {
      expect((await client.check({ 'request.headers': { 'x-user': 'beta' } })).precondition.status.code).toBe(7);
    } finally {
      client.close();
    }
  });

  it('refuses an oversized prefix at once (the stream left open), survives resets mid-call and many streams, and keeps serving', async () => {
    // A prefix declaring more than the bound: refused when it arrives, before the request ends.
    const over = Buffer.alloc(5);
    over.writeUInt32BE(MAX_POLICY_REQUEST + 1, 1);
    expect(statusOf(await raw(CHECK, [over], { end: false }))).toBe('8');
    // A whole message and the start of a second, the stream left open: refused at once.
    expect(statusOf(await raw(CHECK, [frame(encodedCheck()), frame(encodedCheck()).subarray(0, 3)], { end: false }))).toBe('12');
    // A message over the bound sent whole: refused, its bytes never all held.
    const big = Buffer.alloc(MAX_POLICY_REQUEST + 64);
    big.writeUInt32BE(big.length - 5, 1);
    expect(statusOf(await raw(CHECK, [big]))).toBe('8');
    // One connection holding parts of big messages: past its budget (two messages' worth) its next call is refused,
    // while another connection's Checks are answered.
    const hog = session();
    const part = Buffer.alloc(3 * 1024 * 1024);
    part.writeUInt32BE(MAX_POLICY_REQUEST, 1);
    const held = [raw(CHECK, [part], { end: false, on: hog }), raw(CHECK, [part], { end: false, on: hog })];
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(statusOf(await raw(CHECK, [part], { end: false, on: hog }))).toBe('8');
    const other = new MixerClient(port);
    try {
      expect((await other.check({ 'request.headers': { 'x-user': 'beta' } })).precondition.status.code).toBe(7);
    } finally {
      other.close();
    }
    hog.destroy();
    await Promise.all(held);
    // Streams reset by the client mid-message, and a connection cut mid-message.
    const s = session();
    for (let i = 0; i < 50; i++) {
      const stream = s.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: CHECK, 'content-type': 'application/grpc' });
      stream.on('error', () => {});
      stream.write(frame(encodedCheck()).subarray(0, 6));
      stream.close(h2.NGHTTP2_CANCEL);
    }
    await new Promise<void>((resolve) => {
      const sock = tcpConnect(port, '127.0.0.1', () => {
        sock.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00');
        sock.destroy();
        resolve();
      });
      sock.on('error', () => resolve());
    });
    // Garbage instead of the connection preface: the connection ends, nothing else.
    await new Promise<void>((resolve) => {
      const sock = tcpConnect(port, '127.0.0.1', () => sock.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n'));
      sock.on('data', () => {});
      sock.on('close', () => resolve());
      sock.on('error', () => resolve());
      setTimeout(() => { sock.destroy(); resolve(); }, 5000).unref();
    });
    // 400 streams on one connection at once (over its 128 concurrent): every one is answered or refused, none hangs.
    const one = session();
    const answers = await Promise.all(Array.from({ length: 400 }, () => raw(CHECK, [frame(encodedCheck())], { on: one })));
    expect(answers.filter((a) => a === 'no answer')).toHaveLength(0);
    expect(answers.filter((a) => statusOf(a) === '0').length).toBeGreaterThan(100);
    const client = new MixerClient(port);
    try {
      expect((await client.check({ 'request.headers': { 'x-user': 'beta' } })).precondition.status.code).toBe(7);
    } finally {
      client.close();
    }
    expect(control.child.exitCode).toBeNull();
  });

  it('concurrent Checks with different attributes each get their own answer, whole or in pieces, over shared connections (nothing reused leaks)', async () => {
    // Four requests with four different answers (status and what was read); each sent whole (read in place) or in
    // 1-byte DATA frames (gathered), many at once on two connections: every answer must be its own request's.
    const kinds = [
      encodeAttributes({ 'request.headers': { 'x-user': 'beta' }, 'request.path': '/a' }),
      encodeAttributes({ 'request.headers': { 'x-user': 'alpha' } }),
      encodeAttributes({ 'request.headers': { 'x-other': 'beta' } }),
      encodeAttributes({ 'request.path': '/beta' }),
    ].map((attributes) => frame(mixerServiceDefinition().Check!.requestSerialize({ attributes, quotas: {}, deduplication_id: '' }) as Buffer));
    const expected = [
      ['7', 'beta users are not allowed', ['request.headers[x-user]:EXACT']],
      ['0', '', ['request.headers[x-user]:EXACT']],
      ['0', '', ['request.headers[x-user]:ABSENCE']],
      ['0', '', ['request.headers:ABSENCE']],
    ];
    const decode = (a: RawAnswer | 'no answer'): unknown => {
      if (a === 'no answer') return a;
      const r = mixerServiceDefinition().Check!.responseDeserialize(a.body.subarray(5)) as { precondition: { status: { code?: number; message?: string } } };
      return [statusOf(a), r.precondition.status.code ?? 0, r.precondition.status.message ?? '', referenced(r as never)];
    };
    const on = [session(), session()];
    const n = 240;
    const answers = await Promise.all(Array.from({ length: n }, (_, i) => {
      const body = kinds[i % 4]!;
      const pieces = (i >> 2) % 3 === 0 ? [...body].map((b) => Buffer.from([b])) : [body];
      return raw(CHECK, pieces, { on: on[i % 2] });
    }));
    for (let i = 0; i < n; i++) {
      const [code, message, refs] = expected[i % 4]!;
      expect([i, decode(answers[i]!)]).toEqual([i, ['0', Number(code), message, refs]]);
    }
  });

  it('a second control plane asking for a policy port in use refuses to start, naming the option (no silent sharing)', () => {
    const r = isthmus(['control', '--data-dir', join(control.dir, 'second'), '--admin-port', '0', '--xds-port', '0', '--secure-xds-port=-1', '--policy-port', String(port)], control.dir);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/--policy-port: .*EADDRINUSE/);
  });
});
