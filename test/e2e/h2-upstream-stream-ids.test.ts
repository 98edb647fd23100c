// An HTTP/2 upstream connection runs out of stream ids after 2^30 requests
// (a client's ids are odd, up to 2^31-1): past the last one nghttp2 refuses
// every new stream. A connection that is never closed (a busy sidecar's, to
// an upstream with no max_requests_per_connection) must then be retired and
// a new one opened, not fail every request from then on. The proxy's upstream
// stream ids start near the end here (ISTHMUS_TEST_H2_FIRST_STREAM_ID), so
// twenty requests use them up.
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmListener, prefixRoute, startProxy, type RunningProxy } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';

/** The first stream id of each upstream session: twenty ids from it to 2^31-1, then none left. */
const IDS_PER_SESSION = 20;
const FIRST_ID = 0x7fffffff - 2 * (IDS_PER_SESSION - 1);

let upstream: http2.Http2Server;
let sessions = 0;
const streamIds: number[] = [];
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = http2.createServer();
  upstream.on('session', () => sessions++);
  upstream.on('stream', (stream) => {
    streamIds.push(stream.id!);
    stream.respond({ ':status': 200 });
    stream.end('ok');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('in', [prefixRoute('/', 'h2up')])],
        clusters: [h2Cluster('h2up', (upstream.address() as AddressInfo).port)],
      },
    },
    env: { ISTHMUS_TEST_H2_FIRST_STREAM_ID: String(FIRST_ID) },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  upstream?.close();
});

async function get(path: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${proxy.ports.get('in')!}${path}`);
  await res.arrayBuffer();
  return res.status;
}

describe('HTTP/2 upstream stream ids', () => {
  it('a connection whose stream ids are spent is retired: the requests after its last id go on a new one', async () => {
    const statuses: number[] = [];
    // One at a time, then bursts of 15 that straddle a connection's last id (those past it move to the next).
    for (let i = 0; i < IDS_PER_SESSION + 5; i++) statuses.push(await get(`/r${i}`));
    for (let b = 0; b < 4; b++) statuses.push(...await Promise.all(Array.from({ length: 15 }, (_, i) => get(`/b${b}-${i}`))));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(streamIds.slice(0, IDS_PER_SESSION)).toEqual(Array.from({ length: IDS_PER_SESSION }, (_, i) => FIRST_ID + 2 * i));
    expect(streamIds.every((id) => id >= FIRST_ID && id <= 0x7fffffff)).toBe(true);
    expect(sessions).toBeGreaterThanOrEqual(Math.ceil(streamIds.length / IDS_PER_SESSION));
  }, 30_000);
});
