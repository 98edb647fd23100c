// %REQ(constructor)% and %REQ(__proto__)%: header names that are also
// Object.prototype members must log the request's header like any other
// name (not "undefined", and no failure when the line is built).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hcmListener, prefixRoute, request, startProxy, startUpstream, waitFor, type RunningProxy, type Upstream } from './harness.js';
import { staticCluster } from '../support/tls-bootstrap.js';

const FILE = 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog';

let upstream: Upstream;
let proxy: RunningProxy;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'isthmus-alhn-'));
  upstream = await startUpstream();
  const log = (name: string, format: Record<string, unknown>) => ({
    name: 'envoy.access_loggers.file',
    typed_config: { '@type': FILE, path: join(dir, name), log_format: format },
  });
  proxy = await startProxy({
    bootstrap: {
      static_resources: {
        listeners: [hcmListener('web', [prefixRoute('/', 'app')], { hcm: { access_log: [
          log('text.log', { text_format_source: { inline_string: 'c=%REQ(constructor)% p=%REQ(__proto__)%\n' } }),
          log('json.log', { json_format: { c: '%REQ(constructor)%', p: '%REQ(__proto__)%' } }),
        ] } })],
        clusters: [staticCluster('app', upstream.port)],
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('access log header operators named like Object.prototype members', () => {
  it('log the headers the request sent, in TEXT and JSON', async () => {
    const r = await request(proxy.port, '/x', { headers: { constructor: 'c1', __proto__: 'p1' } as unknown as Record<string, string> });
    expect(r.status).toBe(200);
    const text = await waitFor('the text line', () => {
      try { return readFileSync(join(dir, 'text.log'), 'utf8') || undefined; } catch { return undefined; }
    }, 5000);
    const json = await waitFor('the json line', () => {
      try { return readFileSync(join(dir, 'json.log'), 'utf8') || undefined; } catch { return undefined; }
    }, 5000);
    expect(text).toBe('c=c1 p=-\n');
    expect(JSON.parse(json)).toEqual({ c: 'c1', p: null });
  });
});
