// `isthmus control` for the end-to-end tests, run as a user runs it
// (bin/isthmus.js over the compiled dist/, so `npx tsc -p .` first), and the
// `isthmus apply` / `isthmus delete` CLI beside it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const CLI = join(ROOT, 'bin', 'isthmus.js');

export interface LogLine {
  readonly msg?: string;
  readonly [key: string]: unknown;
}

export interface RunningControl {
  readonly child: ChildProcess;
  /** The temp dir: `config/` (watched) and `data/` (LMDB). */
  readonly dir: string;
  readonly configDir: string;
  readonly adminPort: number;
  /** The ADS port, from the "control ready" line. */
  readonly xdsPort: number;
  /** The data dir (LMDB), for a restart on the same state. */
  readonly dataDir: string;
  readonly lines: readonly LogLine[];
  readonly exited: Promise<number | null>;
  /** GET (or POST with a body) on the admin API. */
  admin(path: string, body?: string): Promise<{ status: number; text: string }>;
  /** Sends `signal` unless exited, waits (SIGKILL after 10 s); returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Removes the temp dir (after stop). */
  remove(): void;
}

/** The environment minus ISTHMUS_* variables, so only the flags a test passes configure the process. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ISTHMUS_')));
}

export interface ControlDirs {
  readonly configDir: string;
  readonly dataDir: string;
}

/**
 * Starts `isthmus control` on a fresh temp dir (`setup` fills its config folder), or on existing folders (`reuse`).
 * `args` come after the defaults, so they override them (e.g. `--xds-port N` to restart on the same port).
 */
export async function startControl(
  setup: (configDir: string) => void = () => undefined,
  reuse?: ControlDirs,
  args: readonly string[] = [],
): Promise<RunningControl> {
  if (!existsSync(join(ROOT, 'dist', 'control', 'control-command.js'))) throw new Error('dist/ is missing: run `npx tsc -p .` first');
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-control-e2e-'));
  const configDir = reuse?.configDir ?? join(dir, 'config');
  const dataDir = reuse?.dataDir ?? join(dir, 'data');
  if (reuse === undefined) mkdirSync(configDir);
  setup(configDir);
  const child = spawn(process.execPath, [CLI, 'control', '--config-dir', configDir, '--data-dir', dataDir, '--admin-port', '0', '--xds-port', '0', ...args], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv(),
  });
  const lines: LogLine[] = [];
  let stderr = '';
  let partial = '';
  let onLine: ((l: LogLine) => void) | null = null;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
      const text = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        line = { msg: text };
      }
      lines.push(line);
      onLine?.(line);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const ready = await new Promise<LogLine>((res, rej) => {
    const fail = (why: string) => rej(new Error(`${why}\nstdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${stderr}`));
    const timer = setTimeout(() => fail('control not ready within 15 s'), 15_000);
    onLine = (l) => {
      if (l.msg !== 'control ready') return;
      clearTimeout(timer);
      res(l);
    };
    void exited.then((code) => {
      clearTimeout(timer);
      fail(`control exited with ${code} before ready`);
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  onLine = null;
  const adminPort = (ready.admin as { port: number }).port;
  const xdsPort = (ready.xds as { port: number } | undefined)?.port ?? 0;
  return {
    child, dir, configDir, adminPort, xdsPort, dataDir, lines, exited,
    async admin(path, body) {
      const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, body === undefined ? {} : { method: 'POST', body });
      return { status: res.status, text: await res.text() };
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs the CLI to completion (for apply/delete); the control plane must not block on us, so spawnSync is fine. */
export function isthmus(args: readonly string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Polls `check` every 25 ms until it returns a truthy value or timeoutMs passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | false | undefined | null> | T | false | undefined | null, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; ; i++) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
