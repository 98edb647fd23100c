// `isthmus up` end to end: the real CLI, real upstreams, the real proxy child.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processTree } from '../../bench/process-sampler.js';

const root = join(import.meta.dirname, '..', '..');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('isthmus up (the demo)', () => {
  it('serves both versions at the printed URL and stops every child on SIGINT', async () => {
    const demo = spawn(process.execPath, ['bin/isthmus.js', 'up', '--port', '0', '--admin-port', '0'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL after 30 s; output:\n${output}`)), 30_000);
        const check = (): void => {
          const m = /Open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
          if (m !== null) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        };
        demo.stdout.on('data', check);
        void exited.then((code) => reject(new Error(`demo exited (code ${code}) before printing a URL:\n${output}`)));
      });
      expect(output).toMatch(/stats\/prometheus/);
      expect(output).toMatch(/Edit \/\S+bootstrap\.yaml/);

      const children = processTree(demo.pid!).filter((pid) => pid !== demo.pid);
      expect(children.length).toBeGreaterThan(0); // the proxy

      const seen = { v1: 0, v2: 0 };
      for (let i = 0; i < 50; i++) {
        const response = await fetch(url);
        expect(response.status).toBe(200);
        const text = await response.text();
        const version = /reviews (v\d)/.exec(text)?.[1];
        expect(version === 'v1' || version === 'v2', text).toBe(true);
        seen[version as 'v1' | 'v2']++;
      }
      expect(seen.v1).toBeGreaterThan(0);
      expect(seen.v2).toBeGreaterThan(0);
      expect(seen.v1).toBeGreaterThan(seen.v2); // 80/20

      expect(await (await fetch(`${url}v2`)).text()).toContain('reviews v2');
      expect(await (await fetch(`${url}health`)).text()).toBe('ok\n');
      const html = await fetch(url, { headers: { accept: 'text/html' } });
      expect(html.headers.get('content-type')).toContain('text/html');
      expect(await html.text()).toMatch(/<h1[^>]*>Served by reviews v[12]<\/h1>/);

      demo.kill('SIGINT');
      expect(await exited).toBe(0);
      for (const pid of children) expect(isAlive(pid), `child ${pid} still running`).toBe(false);
    } finally {
      if (demo.exitCode === null) demo.kill('SIGKILL');
    }
  }, 60_000);
});
