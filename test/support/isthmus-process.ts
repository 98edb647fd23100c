// An `isthmus` command as a child process for end-to-end tests, run as a
// user runs it (bin/isthmus.js over the compiled dist/, so `npx tsc -p .`
// first): its JSON log lines collected, its "ready" line awaited, and a stop
// that cannot hang. Shared by the proxy and control-plane harnesses.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'bin', 'isthmus.js');

export interface LogLine {
  readonly msg?: string;
  readonly level?: number;
  readonly [key: string]: unknown;
}

/** The environment minus ISTHMUS_* variables, so only the flags a test passes configure the process. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ISTHMUS_')));
}

export interface IsthmusProcess {
  readonly child: ChildProcess;
  /** stdout, one parsed JSON line each (`{ msg: text }` for a line that is not JSON). */
  readonly lines: readonly LogLine[];
  readonly stderr: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** The line whose msg was `readyMsg`. */
  readonly ready: LogLine;
  /** Sends `signal` unless exited, waits (SIGKILL after timeoutMs); returns the exit code. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  readonly cwd: string;
  /** The `msg` of the log line that says the process serves. */
  readonly readyMsg: string;
  readonly readyTimeoutMs?: number;
  /** Variables set on top of cleanEnv() (a test's own ISTHMUS_TEST_* knobs). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Starts `isthmus <args>` and resolves once it logs `readyMsg`; if it exits or times out first, it is killed and this rejects with its output. */
export async function spawnIsthmus(args: readonly string[], o: SpawnOptions): Promise<IsthmusProcess> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...cleanEnv(), ...o.env } });
  const lines: LogLine[] = [];
  let stderr = '';
  let partial = '';
  let onLine: ((line: LogLine) => void) | null = null;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
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
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const transcript = (): string => `stdout:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${stderr}`;
  const what = `isthmus ${args[0] ?? ''}`;
  const timeoutMs = o.readyTimeoutMs ?? 15_000;
  let ready: LogLine;
  try {
    ready = await new Promise<LogLine>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`${what} not ready within ${timeoutMs} ms\n${transcript()}`)), timeoutMs);
      onLine = (line) => {
        if (line.msg !== o.readyMsg) return;
        clearTimeout(timer);
        res(line);
      };
      void exited.then((code) => {
        clearTimeout(timer);
        rej(new Error(`${what} exited with ${code} before ready\n${transcript()}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  } finally {
    onLine = null;
  }
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    ready,
    async stop(signal: NodeJS.Signals = 'SIGTERM', stopTimeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

type Falsy = false | 0 | '' | null | undefined;

/** Polls `check` every 25 ms until it returns a truthy value, which it resolves with, or timeoutMs passes (then throws `what`). */
export async function waitFor<T>(what: string, check: () => Promise<T | Falsy> | T | Falsy, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
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
