// Every worker reads all its sockets into one shared buffer (see
// workers/shared-read-buffer.ts), so a byte kept past its read without a copy
// would be overwritten by another connection's bytes. These tests push many
// distinct random bodies through at once, both ways, and compare digests.
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedSocketsUseSharedBuffer } from '../../workers/shared-read-buffer.js';
import { bootstrapWith, rawExchange, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

let upstream: Upstream;
let proxy: RunningProxy;
/** Bodies the upstream serves, by name. */
const downloads = new Map<string, Buffer>();

beforeAll(async () => {
  for (let i = 0; i < 8; i++) downloads.set(`d${i}`, randomBytes(50_000 + i * 37_123));
  upstream = await startUpstream((req, res, body) => {
    const url = new URL(req.url!, 'http://x');
    const name = url.searchParams.get('name');
    if (name !== null) {
      const data = downloads.get(name)!;
      if (url.searchParams.get('chunked') === '1') {
        // Several writes without a length: chunked framing with uneven pieces.
        for (let off = 0; off < data.length; off += 7_777) res.write(data.subarray(off, off + 7_777));
        res.end();
      } else {
        res.setHeader('content-length', data.length);
        res.end(data);
      }
      return;
    }
    res.end(sha(Buffer.from(body, 'latin1')));
  });
  proxy = await startProxy({
    bootstrap: bootstrapWith({ virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up' } }] }] }, [
      { name: 'up', ports: [upstream.port] },
    ]),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

function exchange(path: string, body: Buffer | null, chunkedUpload = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (body !== null && !chunkedUpload) headers['content-length'] = body.length;
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path, method: body ? 'POST' : 'GET', headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve(Buffer.concat(parts)));
    });
    req.on('error', reject);
    if (body !== null) {
      // Uneven writes so reads split the body at many different offsets.
      for (let off = 0; off < body.length; off += 3_001) req.write(body.subarray(off, off + 3_001));
    }
    req.end();
  });
}

describe('bodies through the shared read buffer', () => {
  it('uses the fast path on this Node', () => {
    expect(acceptedSocketsUseSharedBuffer).toBe(true);
  });

  it('keeps 24 concurrent random uploads and downloads intact', async () => {
    // upstream.seen keeps bodies as latin1 strings; hash the same way on both sides.
    const uploads = Array.from({ length: 12 }, (_, i) => randomBytes(20_000 + i * 9_173));
    const results = await Promise.all([
      ...uploads.map((b, i) => exchange('/upload', b, i % 2 === 1).then((r) => [r.toString(), sha(b)] as const)),
      ...[...downloads.keys()].flatMap((name) => [
        exchange(`/dl?name=${name}`, null).then((r) => [sha(r), sha(downloads.get(name)!)] as const),
      ]),
      ...[...downloads.keys()].slice(0, 4).map((name) =>
        exchange(`/dl?name=${name}&chunked=1`, null).then((r) => [sha(r), sha(downloads.get(name)!)] as const),
      ),
    ]);
    for (const [got, want] of results) expect(got).toBe(want);
  });

  it('keeps pipelined requests with bodies apart', async () => {
    const bodies = Array.from({ length: 5 }, (_, i) => randomBytes(500 + i * 1_000).toString('hex'));
    const raw = bodies.map((b) => `POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: ${b.length}\r\n\r\n${b}`).join('');
    const res = await rawExchange(proxy.port, raw + 'GET /end HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const digests = [...res.text.matchAll(/\r\n\r\n([0-9a-f]{64})/g)].map((m) => m[1]);
    expect(digests).toEqual([...bodies.map((b) => sha(b)), sha('')]);
  });
});
