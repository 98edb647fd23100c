// local_reply_config through a running proxy: mappers (filters, status_code,
// body, headers_to_add, body_format_override) and body_format in text and
// JSON, over replies the proxy makes itself (a failed upstream, no route, a
// direct_response), and a clear error for an operator it does not support.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, httpListener, request, startProxy, type RunningProxy } from './harness.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './harness.js';

type Json = Record<string, any>;

const LOCAL_REPLY = {
  mappers: [
    {
      filter: { status_code_filter: { comparison: { op: 'EQ', value: { default_value: 503, runtime_key: 'local_reply.503' } } } },
      status_code: 502,
      body: { inline_string: 'the backend is unavailable' },
      headers_to_add: [{ header: { key: 'x-mapped', value: 'yes' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    },
    {
      filter: { header_filter: { header: { name: 'accept', exact_match: 'application/json' } } },
      body_format_override: { json_format: { code: '%RESPONSE_CODE%', message: '%LOCAL_REPLY_BODY%', path: '%REQ(:path)%', flags: '%RESPONSE_FLAGS%', missing: '%REQ(x-nope)%' } },
    },
  ],
  body_format: { text_format: '%LOCAL_REPLY_BODY% (%RESPONSE_CODE%) for %REQ(:path)%\n' },
};

function bootstrap(deadPort: number, localReply: unknown): Json {
  const l = httpListener('web', 0, { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [
    { match: { path: '/direct' }, direct_response: { status: 200, body: { inline_string: 'hello' } } },
    { match: { prefix: '/down' }, route: { cluster: 'dead' } },
  ] }] }) as Json;
  l.filter_chains[0].filters[0].typed_config.local_reply_config = localReply;
  return { static_resources: { listeners: [l], clusters: [{ name: 'dead', type: 'STATIC', connect_timeout: '0.5s',
    load_assignment: { cluster_name: 'dead', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: deadPort } } } }] }] } }] } };
}

describe('local_reply_config', () => {
  let proxy: RunningProxy;

  beforeAll(async () => {
    proxy = await startProxy({ bootstrap: bootstrap(await closedPort(), LOCAL_REPLY) });
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  it('a mapper rewrites a 503 (status, body, header), and body_format renders it', async () => {
    const res = await request(proxy.port, '/down/x');
    expect(res.status).toBe(502);
    expect(res.headers['x-mapped']).toBe('yes');
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.body).toBe('the backend is unavailable (502) for /down/x\n');
  });

  it('a header filter picks a JSON body_format_override; one operator alone keeps its type, an absent header is null', async () => {
    const res = await request(proxy.port, '/nowhere?q=1', { headers: { accept: 'application/json' } });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual({ code: 404, message: '', path: '/nowhere?q=1', flags: 'NR', missing: null });
  });

  it('a direct_response goes through body_format too', async () => {
    const res = await request(proxy.port, '/direct');
    expect(res.status).toBe(200);
    expect(res.body).toBe('hello (200) for /direct\n');
  });

  it('an operator local replies do not support is refused with its name', async () => {
    const bad = { body_format: { text_format: '%UPSTREAM_HOST% %LOCAL_REPLY_BODY%' } };
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-lr-'));
    try {
      const file = join(dir, 'b.json');
      writeFileSync(file, JSON.stringify(bootstrap(1, bad)));
      const run = spawnSync(process.execPath, [CLI, 'proxy', '--bootstrap', file, '--admin-port', '0', '--data-dir', join(dir, 'd')], { encoding: 'utf8', timeout: 15_000 });
      expect(run.status).not.toBe(0);
      expect(run.stdout + run.stderr).toMatch(/local_reply_config\.body_format\.text_format uses %UPSTREAM_HOST%, which local replies do not support/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
