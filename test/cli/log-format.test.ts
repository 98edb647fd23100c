// What a person sees of `isthmus proxy`'s log: at a terminal (a pseudo-terminal
// made by `script`), coloured one-line entries with the level name and the
// message first; through a pipe, JSON lines; a config version applied or
// rejected as one clear line (rejected: each problem on its own line); a
// start-up failure printed once.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, bootstrapYaml, replaceFile, startProxy, taggedBootstrap, tempDir, waitFor } from '../e2e/harness.js';
import { cleanEnv } from '../support/isthmus-process.js';

const dir = tempDir('log-format');
afterAll(() => dir.remove());

/** Runs `node bin/isthmus.js <args>` under `script` (a pseudo-terminal) until `until` shows in its output or it exits; returns the output. */
function runInTerminal(args: string, until: RegExp | null, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} ${args}`, '/dev/null'], {
      cwd: ROOT, env: { ...cleanEnv(), TERM: 'xterm' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const done = () => {
      clearTimeout(timer);
      child.kill('SIGTERM');
      resolve(out);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ${String(until)} within ${timeoutMs} ms; output:\n${out}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (until !== null && until.test(out)) done();
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

const stripColour = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

describe('log output', { timeout: 30_000 }, () => {
  it('is coloured, human-readable lines at a terminal', async () => {
    const bootstrapPath = join(dir.path, 'tty.yaml');
    writeFileSync(bootstrapPath, bootstrapYaml(taggedBootstrap({ upstreamPort: 9, tag: 'v1' })));
    const out = await runInTerminal(`proxy --bootstrap ${bootstrapPath} --admin-port 0 --data-dir ${join(dir.path, 'tty-data')}`, /proxy ready/);
    expect(out).toMatch(/\x1b\[3\dm/); // ANSI colour
    const text = stripColour(out);
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(isthmus-proxy\): config v1 applied: 1 listener, 1 cluster, 2 routes, 1 endpoint /m);
    expect(text).toMatch(/INFO \(isthmus-proxy\): proxy ready \{"listeners":/);
    expect(text).not.toContain('"level":30');
  });

  it('is JSON through a pipe; --log-format pretty forces readable lines', async () => {
    const proxy = await startProxy({ bootstrap: taggedBootstrap({ upstreamPort: 9, tag: 'v1' }) });
    try {
      expect(proxy.lines.find((l) => l.msg === 'proxy ready')).toMatchObject({ level: 30, name: 'isthmus-proxy' });
    } finally {
      await proxy.stop();
    }
    const pretty = await runPiped(['proxy', '--bootstrap', join(dir.path, 'tty.yaml'), '--admin-port', '0', '--data-dir', join(dir.path, 'pipe-data'), '--log-format', 'pretty'], /proxy ready/);
    expect(pretty).toMatch(/INFO \(isthmus-proxy\): proxy ready/);
    expect(pretty).not.toMatch(/\x1b\[/); // no colour codes into a pipe
  });

  it('says in one line what a reload changed, and lists each problem of a rejected one on its own line', async () => {
    const proxy = await startProxy({ bootstrap: taggedBootstrap({ upstreamPort: 9, tag: 'v1' }) });
    try {
      const two = taggedBootstrap({ upstreamPort: 9, tag: 'v2' }) as { static_resources: { clusters: Record<string, unknown>[] } };
      two.static_resources.clusters.push({ ...two.static_resources.clusters[0]!, name: 'extra' });
      replaceFile(proxy.bootstrapPath, bootstrapYaml(two));
      const applied = await waitFor('the applied line', () => proxy.lines.find((l) => /^config v2 applied/.test(String(l.msg))));
      expect(applied.msg).toBe('config v2 applied: 1 listener, 2 clusters (+1), 2 routes, 2 endpoints (+1)');

      const bad = bootstrapYaml(two).replace('lb_policy: ROUND_ROBIN', 'lb_policy: NOPE').replace('connect_timeout: 1s', 'connect_timeout: soon');
      replaceFile(proxy.bootstrapPath, bad);
      const rejected = await waitFor('the rejected line', () => proxy.lines.find((l) => String(l.msg).startsWith('config rejected')));
      const lines = String(rejected.msg).split('\n');
      expect(lines[0]).toMatch(/^config rejected \(file changed, sha256 [0-9a-f]{12}\), keeping v2: 2 problems$/);
      expect(lines.slice(1).every((l) => /^ {2}\S+bootstrap\.yaml:\d+: /.test(l))).toBe(true);
      expect(lines).toHaveLength(3);
    } finally {
      await proxy.stop();
    }
  });

  it('prints a start-up failure once at a terminal', async () => {
    const missing = join(dir.path, 'missing.yaml');
    const out = stripColour(await runInTerminal(`proxy --bootstrap ${missing} --admin-port 0 --data-dir ${join(dir.path, 'fail-data')}`, null));
    expect(out.split('cannot read the file').length - 1).toBe(1);
    expect(out).toContain(`isthmus proxy: invalid configuration (1 problem):`);
  });
});

function runPiped(args: readonly string[], until: RegExp, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ${String(until)} within ${timeoutMs} ms; output:\n${out}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      if (!until.test(out)) return;
      clearTimeout(timer);
      child.once('exit', () => resolve(out));
      child.kill('SIGTERM');
    });
  });
}
