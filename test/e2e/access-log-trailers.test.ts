// %TRAILER(X)% in an access-log format logs the upstream's response trailer
// X, as Envoy's does: from an HTTP/1.1 upstream's chunked trailer section
// (logged whether or not the client asked for trailers) and from an HTTP/2
// upstream's trailers; "-" when the response had none or not that one.
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmListener, prefixRoute, rawExchange, startProxy, waitFor, type RunningProxy } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { staticCluster } from '../support/tls-bootstrap.js';

const FILE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';
const FORMAT = '%REQ(:PATH)% %TRAILER(X-Checksum)% %TRAILER(grpc-status)% %TRAILER(x-absent?x-checksum)% %TRAILER(__proto__)%\n';

let dir: string;
let raw: net.Server;
let h2server: http2.Http2Server;
let proxy: RunningProxy;

/** An HTTP/1.1 upstream answering a chunked "hello"; /plain/ with no trailer section, else with `X-Checksum: abc`. */
function startRawUpstream(): Promise<net.Server> {
  const server = net.createServer((socket) => {
    let head = '';
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const section = head.startsWith('GET /h1/plain') ? '' : 'X-Checksum: abc\r\n';
      socket.end(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n5\r\nhello\r\n0\r\n${section}\r\n`);
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-trailer-log-'));
  raw = await startRawUpstream();
  h2server = http2.createServer();
  h2server.on('stream', (stream) => {
    stream.on('error', () => {});
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '7', 'x-checksum': 'h2sum' }));
    stream.end('x');
  });
  await new Promise<void>((r) => h2server.listen(0, '127.0.0.1', r));
  const listener = hcmListener('in', [prefixRoute('/h1/', 'raw', '10s'), prefixRoute('/h2/', 'h2backend', '10s')], {
    hcm: { access_log: [{ name: 'envoy.access_loggers.file', typed_config: { '@type': FILE, path: join(dir, 'trailers.log'), log_format: { text_format_source: { inline_string: FORMAT } } } }] },
  });
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [listener],
        clusters: [staticCluster('raw', (raw.address() as AddressInfo).port), h2Cluster('h2backend', (h2server.address() as AddressInfo).port)],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  raw?.close();
  h2server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nhost: x\r\n${extra}connection: close\r\n\r\n`;

describe('%TRAILER(X)% in the access log', () => {
  it('logs an HTTP/1.1 upstream\'s trailer fields (with or without te: trailers), an HTTP/2 upstream\'s trailers, and - when absent', async () => {
    expect((await rawExchange(proxy.port, get('/h1/te', 'te: trailers\r\n'), 5000)).text).toMatch(/^HTTP\/1\.1 200[^]*x-checksum: abc/i);
    expect((await rawExchange(proxy.port, get('/h1/no-te'), 5000)).text).toMatch(/^HTTP\/1\.1 200/);
    expect((await rawExchange(proxy.port, get('/h1/plain'), 5000)).text).toMatch(/^HTTP\/1\.1 200/);
    expect((await rawExchange(proxy.port, get('/h2/call'), 5000)).text).toMatch(/^HTTP\/1\.1 200/);
    const file = join(dir, 'trailers.log');
    const lines = await waitFor('four access-log lines', () => {
      let text = '';
      try { text = readFileSync(file, 'utf8'); } catch { return undefined; }
      const l = text.split('\n').filter((x) => x !== '');
      return l.length >= 4 ? l : undefined;
    }, 10_000);
    expect(lines.sort()).toEqual([
      '/h1/no-te abc - abc -',
      '/h1/plain - - - -',
      '/h1/te abc - abc -',
      '/h2/call h2sum 7 h2sum -',
    ]);
  }, 30_000);
});
