// An HTTP/2 response carries no reason phrase; an HTTP/1.1 client of an
// HTTP/2 upstream gets the standard one in its status line ("HTTP/1.1 404 Not
// Found"), as Envoy's HTTP/1 codec writes it, and "Unknown" for an
// unregistered code. Every code of the table, through both upstream paths:
// nghttp2 in the addon (the native transport) and node:http2 (--transport node).
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmListener, prefixRoute, startProxy, type RunningProxy } from './harness.js';
import { h2Cluster } from '../support/h2-bootstrap.js';
import { REASON_PHRASES } from '../../workers/reason-phrases.js';

/** An h2c upstream that answers /NNN with status NNN. */
function startStatusUpstream(): Promise<{ server: http2.Http2Server; port: number }> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    stream.respond({ ':status': Number(String(headers[':path']).slice(1)) });
    stream.end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

/** The status lines of `codes` asked in turn on one keep-alive HTTP/1.1 connection. */
async function statusLines(port: number, codes: readonly number[]): Promise<string[]> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setEncoding('latin1');
  const lines: string[] = [];
  let text = '';
  try {
    for (const code of codes) {
      sock.write(`GET /${code} HTTP/1.1\r\nhost: reason.test\r\n\r\n`);
      const line = await new Promise<string>((resolve, reject) => {
        const onData = (d: string): void => {
          text += d;
          const end = text.indexOf('\r\n\r\n');
          if (end < 0) return;
          // Bodyless answers (the upstream sends none): content-length 0 or no body by status.
          sock.off('data', onData);
          const first = text.slice(0, text.indexOf('\r\n'));
          const chunkedEnd = text.indexOf('0\r\n\r\n', end + 4);
          text = chunkedEnd >= 0 ? text.slice(chunkedEnd + 5) : text.slice(end + 4);
          resolve(first);
        };
        sock.on('data', onData);
        sock.once('error', reject);
      });
      lines.push(line);
    }
  } finally {
    sock.destroy();
  }
  return lines;
}

const CODES = Object.keys(REASON_PHRASES).map(Number).filter((c) => c >= 200 && c !== 101);
const UNREGISTERED = [299, 499, 599];

let upstream: { server: http2.Http2Server; port: number };
const proxies: RunningProxy[] = [];

function bootstrap(): Record<string, unknown> {
  return {
    static_resources: {
      listeners: [hcmListener('h1', [prefixRoute('/', 'h2up', '10s')])],
      clusters: [h2Cluster('h2up', upstream.port)],
    },
  };
}

beforeAll(async () => {
  upstream = await startStatusUpstream();
}, 30_000);

afterAll(async () => {
  for (const p of proxies) await p.stop();
  upstream?.server.close();
});

describe('HTTP/1.1 status lines of responses from an HTTP/2 upstream', () => {
  for (const transport of ['native', 'node']) {
    it(`carry the standard reason phrase, "Unknown" when unregistered (--transport ${transport})`, async () => {
      const proxy = await startProxy({ bootstrap: bootstrap(), args: ['--transport', transport] });
      proxies.push(proxy);
      const codes = [...CODES, ...UNREGISTERED];
      const lines = await statusLines(proxy.ports.get('h1')!, codes);
      expect(lines).toEqual(codes.map((c) => `HTTP/1.1 ${c} ${REASON_PHRASES[c] ?? 'Unknown'}`));
    }, 30_000);
  }
});
