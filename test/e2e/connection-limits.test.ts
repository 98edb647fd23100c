// Connection limits: `--max-connections` closes connections over the limit at
// accept (and counts them), and a proxy out of file descriptors stops
// accepting, without spinning, until a connection closes, then serves again.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { admin, bootstrapWith, metricSum, rawExchange, request, startProxy, statusCodes, waitFor, type RunningProxy } from './harness.js';

const BOOTSTRAP = bootstrapWith(
  { virtual_hosts: [{ name: 'all', domains: ['*'], routes: [{ match: { prefix: '/' }, direct_response: { status: 200, body: { inline_string: 'ok' } } }] }] },
  [],
);

let proxy: RunningProxy | undefined;
const clients: net.Socket[] = [];

afterEach(async () => {
  for (const s of clients.splice(0)) s.destroy();
  await proxy?.stop();
  proxy = undefined;
});

/** Opens n idle connections and resolves once each has connected (or failed). */
async function openIdle(port: number, n: number): Promise<net.Socket[]> {
  const opened = await Promise.all(Array.from({ length: n }, () => new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    clients.push(s);
    s.on('error', () => resolve(s));
    s.on('connect', () => resolve(s));
  })));
  return opened;
}

/** CPU seconds (user + system) the process used so far, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
}

describe('--max-connections', () => {
  it('closes connections over the limit at accept, counts them, and serves again once one closes', async () => {
    proxy = await startProxy({ bootstrap: BOOTSTRAP, workers: 2, args: ['--max-connections', '4'] });
    const idle = await openIdle(proxy.port, 4);
    await waitFor('the 4 connections accepted', async () => {
      const text = (await admin(proxy!, '/stats/prometheus')).body;
      return metricSum(text, 'isthmus_worker_downstream_cx_active') === 4;
    });
    const refused = await rawExchange(proxy.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 3000);
    expect(refused.closed).toBe(true);
    expect(statusCodes(refused.text)).toEqual([]);
    const text = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(text, 'isthmus_worker_downstream_global_cx_overflow')).toBe(1);

    idle[0]!.destroy();
    await waitFor('a freed slot serves a request', async () => (await request(proxy!.port, '/').catch(() => ({ status: 0 }))).status === 200);
  });
});

describe('out of file descriptors', () => {
  it('stops accepting without spinning and serves again when connections close', async () => {
    proxy = await startProxy({ bootstrap: BOOTSTRAP, workers: 2 });
    const pid = proxy.child.pid!;
    // util-linux prlimit: lower the running proxy's descriptor limit below what the clients will open
    execFileSync('prlimit', ['--pid', String(pid), '--nofile=200:200']);
    await openIdle(proxy.port, 300);
    await sleep(1000);

    const before = cpuSeconds(pid);
    await sleep(1500);
    const used = cpuSeconds(pid) - before;
    // a spinning accept loop burns ~1 CPU-second per second per worker; an idle proxy ~0
    expect(used).toBeLessThan(0.5);

    // A request on a new connection waits in the backlog rather than being closed...
    const pending = rawExchange(proxy.port, 'GET /late HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', 15_000);
    await sleep(300);
    // ...and is answered once the idle connections go away.
    for (const s of clients.splice(0)) s.destroy();
    const res = await pending;
    expect(statusCodes(res.text)).toEqual([200]);

    const text = (await admin(proxy, '/stats/prometheus')).body;
    expect(metricSum(text, 'isthmus_worker_accept_paused_total')).toBeGreaterThan(0);
    expect((await request(proxy.port, '/')).status).toBe(200);
  }, 40_000);
});
