// safe_regex is RE2: matching costs time linear in the input. A pattern that a
// backtracking engine takes exponential time on (`(a+)+` against a run of a's
// and a mismatch at the end) must answer at once, and other requests keep
// flowing, through a real proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWith, replyName, request, startProxy, startUpstream, type RunningProxy, type Upstream } from './harness.js';

let upstream: Upstream;
let proxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream(replyName('app'));
  const routes = [
    { match: { safe_regex: { regex: '/(a+)+' } }, direct_response: { status: 403, body: { inline_string: 'denied' } } },
    {
      match: { prefix: '/h', headers: [{ name: 'x-id', string_match: { safe_regex: { regex: '(a|aa)+' } } }] },
      direct_response: { status: 403, body: { inline_string: 'denied' } },
    },
    {
      match: { prefix: '/q', query_parameters: [{ name: 'id', string_match: { safe_regex: { regex: '(a*)*b' } } }] },
      direct_response: { status: 403, body: { inline_string: 'denied' } },
    },
    { match: { prefix: '/' }, route: { cluster: 'app' } },
  ];
  proxy = await startProxy({
    bootstrap: bootstrapWith({ virtual_hosts: [{ name: 'all', domains: ['*'], routes }] }, [{ name: 'app', ports: [upstream.port] }]),
  });
});

afterAll(async () => {
  await proxy?.stop('SIGKILL');
  await upstream?.close();
});

// A backtracking engine needs about 2^n (or 1.6^n) steps for these: n = 64 never ends.
const RUN = 'a'.repeat(64);

describe('safe_regex runs in linear time', () => {
  it('answers hostile paths, headers and query values at once, and other requests keep flowing', async () => {
    const hostile = [
      ...Array.from({ length: 6 }, () => request(proxy.port, `/${RUN}!`, { timeoutMs: 5000 })),
      request(proxy.port, '/h', { headers: { 'x-id': `${RUN}!` }, timeoutMs: 5000 }),
      request(proxy.port, `/q?id=${RUN}!`, { timeoutMs: 5000 }),
    ];
    const answers = await Promise.all(hostile);
    // None matches its regex (the `!`), so each falls through to the app.
    for (const res of answers) expect(res).toMatchObject({ status: 200, body: 'app' });
    const normal = await request(proxy.port, '/ok', { timeoutMs: 5000 });
    expect(normal).toMatchObject({ status: 200, body: 'app' });
    // And the regexes still match what they should.
    expect((await request(proxy.port, `/${RUN}`, { timeoutMs: 5000 })).status).toBe(403);
    expect((await request(proxy.port, '/h', { headers: { 'x-id': RUN }, timeoutMs: 5000 })).status).toBe(403);
    expect((await request(proxy.port, `/q?id=${RUN}b`, { timeoutMs: 5000 })).status).toBe(403);
  }, 30_000);
});
