// Bodies stream through both ways with backpressure: 50 MB up and down
// without the proxy holding them, chunked framing re-encoded, HTTP/1.0
// clients served close-delimited.
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWith, rawExchange, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';

const MB = 1024 * 1024;
let upstream: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream((req, res, body) => {
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/download') {
      const total = Number(url.searchParams.get('mb')) * MB;
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      res.setHeader('content-length', total);
      const pump = (): void => {
        while (sent < total) {
          sent += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    } else if (url.pathname === '/chunked') {
      res.write('first,');
      setTimeout(() => res.end('second'), 20);
    } else {
      res.end(`received ${Buffer.byteLength(body)} bytes, te=${req.headers['transfer-encoding'] ?? '-'}`);
    }
  });
  proxy = await startProxy({
    bootstrap: bootstrapWith(
      { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'up', timeout: '60s' } }] }] },
      [{ name: 'up', ports: [upstream.port] }],
    ),
  });
});

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
});

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

function upload(path: string, totalBytes: number, chunked: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: proxy.port,
        path,
        method: 'POST',
        headers: chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': totalBytes },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      },
    );
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    let sent = 0;
    const pump = (): void => {
      while (sent < totalBytes) {
        const piece = chunk.subarray(0, Math.min(chunk.length, totalBytes - sent));
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe('streaming bodies', () => {
  it('streams a 50 MB upload and a 50 MB download with bounded proxy memory', async () => {
    const before = peakRssMb(proxy.child.pid!);
    expect(await upload('/upload', 50 * MB, false)).toBe(`received ${50 * MB} bytes, te=-`);
    const downloaded = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: proxy.port, path: '/download?mb=50' }, (res) => {
          let n = 0;
          res.on('data', (c: Buffer) => (n += c.length));
          res.on('end', () => resolve(n));
        })
        .on('error', reject);
    });
    expect(downloaded).toBe(50 * MB);
    const growth = peakRssMb(proxy.child.pid!) - before;
    expect(growth).toBeLessThan(40); // the 50 MB bodies never sat in the proxy
  }, 60_000);

  it('re-encodes a chunked upload for the upstream', async () => {
    expect(await upload('/upload', 3 * MB + 17, true)).toBe(`received ${3 * MB + 17} bytes, te=chunked`);
  });

  it('forwards a chunked response chunked to HTTP/1.1 and close-delimited to HTTP/1.0', async () => {
    const h11 = await rawExchange(proxy.port, 'GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(h11.text).toMatch(/transfer-encoding: chunked/i);
    expect(h11.text).toContain('first,');
    expect(h11.text).toMatch(/0\r\n\r\n$/);
    const h10 = await rawExchange(proxy.port, 'GET /chunked HTTP/1.0\r\n\r\n');
    expect(h10.text).not.toMatch(/transfer-encoding/i);
    expect(h10.text.endsWith('\r\n\r\nfirst,second')).toBe(true);
    expect(h10.closed).toBe(true);
  });
});
