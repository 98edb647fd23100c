// Reloads never starve: the proxy's own access log, written without pause in
// the bootstrap's folder, does not delay a reload; a bootstrap rewritten
// every 50 ms applies versions during the storm, not only after it; each
// applied or rejected version gets one log line naming the file's digest.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapYaml, configDump, replaceFile, request, startProxy, startUpstream, taggedBootstrap, waitFor,
  type RunningProxy, type Upstream,
} from './harness.js';

let upstream: Upstream;
let proxy: RunningProxy;
let port: number;

beforeAll(async () => {
  upstream = await startUpstream();
  proxy = await startProxy({ bootstrap: taggedBootstrap({ upstreamPort: upstream.port, tag: 'v1' }), accessLog: 'file' });
  port = proxy.ports.get('outbound')!;
}, 30_000);

afterAll(async () => {
  await proxy?.stop('SIGKILL');
  await upstream?.close();
});

const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);
const yamlFor = (tag: string) => bootstrapYaml(taggedBootstrap({ upstreamPort: upstream.port, tag }));

/** Keep-alive requests until stopped (each writes an access-log line beside the bootstrap), bounded in count and time. */
function startLoad(): { stop(): Promise<number> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const deadline = Date.now() + 20_000;
  let sent = 0;
  let stopping = false;
  const client = async (): Promise<void> => {
    while (!stopping && sent < 100_000 && Date.now() < deadline) {
      sent++;
      await request(port, '/load', { agent, timeoutMs: 5000 }).catch(() => undefined);
    }
  };
  const clients = [client(), client()];
  return {
    async stop() {
      stopping = true;
      await Promise.all(clients);
      agent.destroy();
      return sent;
    },
  };
}

describe('reloads in a busy folder', { timeout: 40_000 }, () => {
  it('applies a bootstrap change within ~2 s while the access log in the same folder is written', async () => {
    const load = startLoad();
    try {
      await new Promise((r) => setTimeout(r, 500)); // the access log is being written now
      const before = (await configDump(proxy)).version;
      const text = yamlFor('busy');
      const changedAt = Date.now();
      replaceFile(proxy.bootstrapPath, text);
      await waitFor('the new routes', async () => (await request(port, '/version')).body === 'busy');
      expect(Date.now() - changedAt).toBeLessThan(2500); // 100 ms debounce, plus apply on a loaded 2-core machine
      expect((await configDump(proxy)).version).toBe(before + 1);
      const written = proxy.lines.find((l) => String(l.msg).startsWith(`config v${before + 1} applied`) && l.version === before + 1);
      expect(written?.reason).toBe(`file changed, sha256 ${sha(text)}`);
    } finally {
      expect(await load.stop()).toBeGreaterThan(10);
    }
  });

  it('applies versions during a storm of rewrites every 50 ms, and logs each applied or rejected one', async () => {
    const before = (await configDump(proxy)).version;
    const started = Date.now();
    let appliedDuringStorm = 0;
    let n = 0;
    while (Date.now() - started < 3000) {
      appliedDuringStorm = (await configDump(proxy)).version - before;
      writeFileSync(proxy.bootstrapPath, yamlFor(`storm${++n}`)); // in place, as some tools write
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(appliedDuringStorm).toBeGreaterThanOrEqual(1); // with a 1 s max wait, about 2-3
    await waitFor('the last version', async () => (await request(port, '/version')).body === `storm${n}`);

    // A rejected version: one error line with its digest and each problem.
    const bad = yamlFor('bad').replace('    type: STATIC\n', '    type: STATIC\n    lrs_server: {}\n    bogus_field: 1\n');
    replaceFile(proxy.bootstrapPath, bad);
    const rejected = await waitFor('the rejection line', async () =>
      proxy.lines.find((l) => String(l.msg).startsWith('config rejected') && String(l.reason).includes(sha(bad))));
    expect((rejected.detail as { problems: unknown }).problems).toEqual([expect.stringContaining('lrs_server'), expect.stringContaining('bogus_field')]);
    expect((await request(port, '/version')).body).toBe(`storm${n}`);
  });
});
