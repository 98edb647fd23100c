// The policy port's server (native-grpc-server.ts) in this process, with a
// short request timeout: a call whose request message stops short is refused
// DEADLINE_EXCEEDED and gives back the bytes it held, so clients that stall
// mid-message cannot keep the server's byte budget (and refuse everyone
// after them) for as long as they keep their connection.
import { connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeGrpcServer } from '../../../control/mixer/native-grpc-server.js';
import { MAX_POLICY_REQUEST, rangeDeserializer } from '../../../control/mixer/native-grpc-call.js';
import { readCheckRequest, type CheckRequestValues } from '../../../control/mixer/check-request-reader.js';
import { mixerServiceDefinition } from '../../../control/mixer/mixer-protos.js';
import { waitFor } from '../../support/isthmus-process.js';

const CHECK = '/isthmus.mixer.v1.Mixer/Check';
const REQUEST_TIMEOUT_MS = 3000;
let server: NativeGrpcServer;
let port: number;
const sessions: ClientHttp2Session[] = [];

beforeAll(async () => {
  server = new NativeGrpcServer(REQUEST_TIMEOUT_MS);
  server.serve(mixerServiceDefinition(), { Check: (_call: unknown, done: (e: null, v: unknown) => void) => done(null, {}) });
  port = await server.listen('127.0.0.1', 0);
});

afterAll(() => {
  for (const s of sessions) s.destroy();
  server.close(true);
});

function session(): ClientHttp2Session {
  const s = connect(`http://127.0.0.1:${port}`);
  s.on('error', () => {});
  sessions.push(s);
  return s;
}

/** A prefix declaring `declared` bytes, then `sent` of them (zeros: never decoded, the message is never whole). */
function message(declared: number, sent: number): Buffer {
  const b = Buffer.alloc(5 + sent);
  b.writeUInt32BE(declared, 1);
  return b;
}

/** A whole CheckRequest of 300 bytes (a deduplication_id of 297 letters) behind its prefix. */
const SMALL = Buffer.concat([message(300, 0), Buffer.from([0x12, 0xa9, 0x02]), Buffer.alloc(297, 'a')]);

/** Starts a Check with `body` (ended unless `end` is false); resolves its grpc-status, or 'no answer' after 8 s. */
function check(on: ClientHttp2Session, body: Buffer, end = true): { stream: ClientHttp2Stream; status: Promise<string> } {
  const stream = on.request({ [h2.HTTP2_HEADER_METHOD]: 'POST', [h2.HTTP2_HEADER_PATH]: CHECK, 'content-type': 'application/grpc', te: 'trailers' });
  const status = new Promise<string>((resolve) => {
    const timer = setTimeout(() => resolve('no answer'), 8000);
    const take = (h: Record<string, unknown>): void => {
      if (h['grpc-status'] === undefined) return;
      clearTimeout(timer);
      resolve(String(h['grpc-status']));
      if (!end) stream.close(h2.NGHTTP2_NO_ERROR);
    };
    stream.on('response', take);
    stream.on('trailers', take);
    stream.on('error', () => {});
  });
  if (end) stream.end(body);
  else stream.write(body);
  return { stream, status };
}

describe('policy port request timeout', () => {
  it('a whole request is answered', async () => {
    expect(await check(session(), message(0, 0)).status).toBe('0');
  });

  it('calls stalled mid-message are refused DEADLINE_EXCEEDED after the timeout and their bytes serve later calls', async () => {
    const s = session();
    // Two calls each holding all but one byte of the largest message: the connection's whole share of the budget.
    const started = Date.now();
    const stalled = [check(s, message(MAX_POLICY_REQUEST, MAX_POLICY_REQUEST - 1), false), check(s, message(MAX_POLICY_REQUEST, MAX_POLICY_REQUEST - 1), false)];
    await waitFor('the connection out of request bytes', async () => (await check(s, SMALL).status) === '8', REQUEST_TIMEOUT_MS);
    expect((await Promise.all(stalled.map((c) => c.status)))).toEqual(['4', '4']);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 100);
    // What they held is given back: the same connection's next call is served.
    expect(await check(s, SMALL).status).toBe('0');
  });
});

describe('policy port reading a message in place (a range deserializer)', () => {
  let inPlace: NativeGrpcServer;
  let inPlacePort: number;
  const seen: string[] = [];

  beforeAll(async () => {
    inPlace = new NativeGrpcServer(REQUEST_TIMEOUT_MS);
    const definition = mixerServiceDefinition();
    inPlace.serve({ ...definition, Check: { ...definition.Check!, requestDeserialize: rangeDeserializer(readCheckRequest) } }, {
      Check: (call: { request: CheckRequestValues }, done: (e: null, v: unknown) => void) => {
        seen.push(call.request.deduplicationId);
        done(null, {});
      },
    });
    inPlacePort = await inPlace.listen('127.0.0.1', 0);
  });

  afterAll(() => inPlace.close(true));

  const on = (): ClientHttp2Session => {
    const s = connect(`http://127.0.0.1:${inPlacePort}`);
    s.on('error', () => {});
    sessions.push(s);
    return s;
  };

  it('whole messages left without END are not answered until it comes, are refused DEADLINE_EXCEEDED after the timeout; a bad one is INTERNAL at its END', async () => {
    const s = on();
    // Small whole messages (one DATA frame: read in place), each with its own id, the streams never ended.
    const withId = (id: string): Buffer => {
      const m = Buffer.concat([Buffer.from([0x12, id.length]), Buffer.from(id)]);
      return Buffer.concat([message(m.length, 0), m]);
    };
    const held = ['h1', 'h2', 'h3', 'h4', 'h5'].map((id) => check(s, withId(id), false));
    expect(await check(s, withId('ended')).status).toBe('0');
    expect(seen).toEqual(['ended']);
    expect(await Promise.all(held.map((c) => c.status))).toEqual(['4', '4', '4', '4', '4']);
    expect(seen).toEqual(['ended']); // never handled: refused before their request ended
    // Bytes that are not a CheckRequest: INTERNAL, at the end of the request (not when read).
    expect(await check(s, Buffer.concat([message(3, 0), Buffer.from([0x0a, 0x7f, 0x00])])).status).toBe('13');
    expect(await check(s, withId('after')).status).toBe('0');
    expect(seen).toEqual(['ended', 'after']);
  });
});
