// Malformed heads that arrive in pieces are refused as soon as the offending
// bytes arrive, not when the idle timeout (5 minutes here) finally ends the
// connection: the same answer as when the head comes in one write.
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWith, replyName, startProxy, startUpstream, statusCodes, type RunningProxy, type Upstream } from './harness.js';

let upstream: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream(replyName('up'));
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

interface SplitResult {
  readonly text: string;
  readonly closed: boolean;
  /** ms from the last write to the connection's close (or to giving up) */
  readonly msAfterLastWrite: number;
}

/** Writes each piece with a pause between them and waits (at most waitMs after the last) for the close. */
function splitExchange(port: number, pieces: readonly Buffer[], gapMs: number, waitMs: number): Promise<SplitResult> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let lastWrite = 0;
    let timer: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed, msAfterLastWrite: Date.now() - lastWrite });
    };
    socket.setNoDelay(true);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('connect', async () => {
      for (const piece of pieces) {
        if (done) return;
        socket.write(piece);
        lastWrite = Date.now();
        await sleep(gapMs);
      }
      timer = setTimeout(() => finish(false), waitMs);
    });
  });
}

const HEAD = 'GET /split HTTP/1.1\r\nHost: backend\r\n';
// The first write is a valid start; the second holds the offending bytes but no CRLFCRLF.
const CASES: Record<string, readonly [string, string]> = {
  'bare LF line ending': [HEAD, 'X-A: 1\nX-B: 2\n'],
  'NUL in a header value': [HEAD, 'X-A: a\x00b\r\n'],
  'space before colon': [HEAD, 'X-A : 1\r\n'],
  'obs-fold': [HEAD, 'X-A: 1\r\n folded\r\n'],
};

describe('malformed heads split across writes', () => {
  for (const [name, [first, second]] of Object.entries(CASES)) {
    it(`refuses ${name} in two writes at once`, async () => {
      const res = await splitExchange(proxy.port, [Buffer.from(first, 'latin1'), Buffer.from(second, 'latin1')], 50, 4000);
      expect(statusCodes(res.text)).toEqual([400]);
      expect(res.closed).toBe(true);
    });

    it(`refuses ${name} written byte by byte`, async () => {
      const bytes = Buffer.from(first + second, 'latin1');
      const pieces = Array.from(bytes, (b) => Buffer.from([b]));
      const res = await splitExchange(proxy.port, pieces, 2, 4000);
      expect(statusCodes(res.text)).toEqual([400]);
      expect(res.closed).toBe(true);
    });
  }

  it('still serves a valid head written byte by byte', async () => {
    const bytes = Buffer.from(`${HEAD}X-A: 1\r\nConnection: close\r\n\r\n`, 'latin1');
    const res = await splitExchange(proxy.port, Array.from(bytes, (b) => Buffer.from([b])), 1, 4000);
    expect(statusCodes(res.text)).toEqual([200]);
    expect(upstream.seen.map((s) => s.url)).toEqual(['/split']);
  });
});
