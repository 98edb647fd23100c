// The list adapter through its handler: inline entries of every type, a list
// fetched from a real HTTP server in the test and from a file, refreshed when
// the source changes, kept through a failed fetch and discarded after its ttl.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StatusCode, type AdapterHandler } from '../../../../control/mixer/adapter.js';
import { adapterByName } from '../../../../control/mixer/adapter-registry.js';
import { MAX_LIST_BYTES } from '../../../../control/mixer/adapters/list.js';
import { eventually, instance, testContext } from './handler-context.js';

const list = adapterByName('list')!;
const handlers: AdapterHandler[] = [];
const servers: Server[] = [];

function handlerFor(params: Record<string, unknown>, context = testContext()): AdapterHandler {
  const handler = list.createHandler(list.parseParams(params), context);
  handlers.push(handler);
  return handler;
}

async function codeFor(handler: AdapterHandler, value: unknown): Promise<number> {
  return (await handler.check!([instance('entry.default', 'listentry', { value })])).code;
}

async function listServer(body: () => string | null): Promise<string> {
  const server = createServer((req, res) => {
    const text = body();
    if (text === null) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/list`;
}

afterEach(async () => {
  for (const h of handlers.splice(0)) await h.close();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

describe('list adapter', () => {
  it('whitelists strings, case-insensitive strings, CIDR ranges and RE2 regexes; answers carry cachingInterval/UseCount', async () => {
    const strings = handlerFor({ overrides: ['alice', 'Bob'], cachingInterval: '7s', cachingUseCount: 3 });
    expect(await strings.check!([instance('e.default', 'listentry', { value: 'alice' })])).toEqual({ code: 0, message: '', validDurationMs: 7000, validUseCount: 3 });
    expect(await codeFor(strings, 'bob')).toBe(StatusCode.NOT_FOUND);
    expect((await strings.check!([instance('e.default', 'listentry', { value: 'mallory' })])).message).toBe('mallory is not whitelisted');

    const folded = handlerFor({ overrides: ['Bob'], entryType: 'CASE_INSENSITIVE_STRINGS' });
    expect(await codeFor(folded, 'BOB')).toBe(StatusCode.OK);

    const ips = handlerFor({ overrides: ['10.0.0.0/8', '192.168.1.7', 'fd00::/8'], entryType: 'IP_ADDRESSES' });
    expect(await codeFor(ips, '10.200.3.4')).toBe(StatusCode.OK);
    expect(await codeFor(ips, '192.168.1.7')).toBe(StatusCode.OK);
    expect(await codeFor(ips, '192.168.1.8')).toBe(StatusCode.NOT_FOUND);
    expect(await codeFor(ips, 'fd12::1')).toBe(StatusCode.OK);
    expect(await codeFor(ips, new Uint8Array([10, 1, 2, 3]))).toBe(StatusCode.OK);
    expect(await codeFor(ips, 'not-an-ip')).toBe(StatusCode.NOT_FOUND);

    const regex = handlerFor({ overrides: ['^/api/v[0-9]+/', 'admin$'], entryType: 'REGEX' });
    expect(await codeFor(regex, '/api/v2/users')).toBe(StatusCode.OK);
    expect(await codeFor(regex, '/x/admin')).toBe(StatusCode.OK);
    expect(await codeFor(regex, '/api/vx/')).toBe(StatusCode.NOT_FOUND);
  });

  it('a regex entry costs linear time on a hostile value (RE2, not backtracking)', async () => {
    const regex = handlerFor({ overrides: ['^(a+)+$'], entryType: 'REGEX' });
    const started = performance.now();
    expect(await codeFor(regex, `${'a'.repeat(5000)}!`)).toBe(StatusCode.NOT_FOUND);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('in blacklist mode denies listed values with PERMISSION_DENIED and passes the rest', async () => {
    const blacklist = handlerFor({ overrides: ['203.0.113.0/24'], entryType: 'IP_ADDRESSES', blacklist: true });
    const denied = await blacklist.check!([instance('e.default', 'listentry', { value: '203.0.113.9' })]);
    expect(denied).toMatchObject({ code: StatusCode.PERMISSION_DENIED, message: '203.0.113.9 is blacklisted' });
    expect(await codeFor(blacklist, '198.51.100.1')).toBe(StatusCode.OK);
  });

  it('fetches the list from an HTTP server, refreshes it, keeps it through failed fetches, and discards it after the ttl', async () => {
    let body: string | null = 'alice\nbob\n';
    const url = await listServer(() => body);
    const context = testContext();
    const handler = handlerFor({ providerUrl: url, refreshInterval: '1s', ttl: '4s', overrides: ['root'] }, context);
    // the first check waits for the first fetch
    expect(await codeFor(handler, 'bob')).toBe(StatusCode.OK);
    expect(await codeFor(handler, 'root')).toBe(StatusCode.OK);
    expect(await codeFor(handler, 'carol')).toBe(StatusCode.NOT_FOUND);

    body = 'carol\n';
    await eventually(async () => ((await codeFor(handler, 'carol')) === StatusCode.OK ? true : undefined), 5000);
    expect(await codeFor(handler, 'bob')).toBe(StatusCode.NOT_FOUND);

    // the provider fails: the last list stays in force...
    body = null;
    await eventually(() => (context.lines.some((l) => l.msg.includes('fetch failed')) ? true : undefined), 5000);
    expect(await codeFor(handler, 'carol')).toBe(StatusCode.OK);
    // ...until the ttl passes; then checks are refused as unavailable
    const gone = await eventually(async () => {
      const r = await handler.check!([instance('e.default', 'listentry', { value: 'carol' })]);
      return r.code === StatusCode.UNAVAILABLE ? r : undefined;
    }, 8000);
    expect(gone.message).toMatch(/not available: .*answered 503/);

    // the provider is back: the list returns
    body = 'dave\n';
    await eventually(async () => ((await codeFor(handler, 'dave')) === StatusCode.OK ? true : undefined), 5000);
  }, 30_000);

  it('reads the list from a file (path or file:// URL) and picks up a change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'isthmus-list-'));
    try {
      const file = join(dir, 'blocked.txt');
      writeFileSync(file, '10.1.0.0/16\n');
      const handler = handlerFor({ providerUrl: `file://${file}`, refreshInterval: '1s', ttl: '10s', entryType: 'IP_ADDRESSES', blacklist: true });
      expect(await codeFor(handler, '10.1.2.3')).toBe(StatusCode.PERMISSION_DENIED);
      expect(await codeFor(handler, '10.2.0.1')).toBe(StatusCode.OK);
      writeFileSync(file, '10.1.0.0/16\n10.2.0.0/16\n');
      await eventually(async () => ((await codeFor(handler, '10.2.0.1')) === StatusCode.PERMISSION_DENIED ? true : undefined), 5000);

      // a bad line keeps the last good list
      writeFileSync(file, '10.3.0.0/16\nnot-a-cidr\n');
      const context = testContext();
      const strict = handlerFor({ providerUrl: file, refreshInterval: '1s', ttl: '10s', entryType: 'IP_ADDRESSES' }, context);
      const r = await strict.check!([instance('e.default', 'listentry', { value: '10.3.0.1' })]);
      expect(r.code).toBe(StatusCode.UNAVAILABLE);
      expect(r.message).toMatch(/line 2 .*"not-a-cidr" is not an IP address/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it('checks that arrive together before the first fetch ends all wait for it', async () => {
    const server = createServer((req, res) => void setTimeout(() => res.writeHead(200).end('alice\n'), 300));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const handler = handlerFor({ providerUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, refreshInterval: '5s', ttl: '10s' });
    const codes = await Promise.all([codeFor(handler, 'alice'), codeFor(handler, 'alice'), codeFor(handler, 'alice')]);
    expect(codes).toEqual([StatusCode.OK, StatusCode.OK, StatusCode.OK]);
  });

  it('refuses a provider body larger than the bound', async () => {
    const url = await listServer(() => 'x'.repeat(MAX_LIST_BYTES + 10));
    const handler = handlerFor({ providerUrl: url, refreshInterval: '5s', ttl: '10s' });
    const r = await handler.check!([instance('e.default', 'listentry', { value: 'x' })]);
    expect(r.code).toBe(StatusCode.UNAVAILABLE);
    expect(r.message).toMatch(/larger than/);
  });
});
