// A child process the suite (or the demo) starts, waits for, samples and stops.
// Readiness is either a line the child prints (parsed by the caller) or a TCP
// port that starts accepting; stop() sends SIGTERM and waits, SIGKILL after a
// grace period, so nothing the suite started outlives it.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';

export interface ManagedProcessOptions<T> {
  /** For messages: 'upstream', 'nginx', ... */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Looks at each stdout/stderr line; returns a value once the line shows readiness. */
  readonly readyLine?: (line: string) => T | undefined;
  /** Or: ready once 127.0.0.1:readyPort accepts a connection (the value is then the port). */
  readonly readyPort?: number;
  readonly readyTimeoutMs?: number;
  /**
   * Run in its own process group, so a terminal's Ctrl-C reaches only us and the child gets
   * exactly one stop signal (ours) instead of SIGINT and then SIGTERM.
   */
  readonly ownProcessGroup?: boolean;
  /** Called with every output line (after readiness too), e.g. to echo logs. */
  readonly onLine?: (line: string) => void;
}

const KEPT_LINES = 40;

export class ManagedProcess<T> {
  readonly name: string;
  readonly child: ChildProcess;
  ready: T | undefined;
  private readonly lastLines: string[] = [];
  private readonly exitPromise: Promise<number | null>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  constructor(name: string, child: ChildProcess) {
    this.name = name;
    this.child = child;
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(code);
      });
      child.once('error', () => {
        this.exitInfo = { code: null, signal: null };
        resolve(null);
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** 'code 1' or 'signal SIGKILL' once exited; undefined while running. */
  get exitDescription(): string | undefined {
    const info = this.exitInfo;
    if (info === undefined) return undefined;
    return info.signal !== null ? `signal ${info.signal}` : `code ${String(info.code)}`;
  }

  get exited(): boolean {
    return this.exitInfo !== undefined;
  }

  /** The last lines the child printed, for error messages. */
  recentOutput(): string {
    return this.lastLines.join('\n');
  }

  keepLine(line: string): void {
    this.lastLines.push(line);
    if (this.lastLines.length > KEPT_LINES) this.lastLines.shift();
  }

  /** Resolves with the exit code once the child has exited (null when killed by a signal). */
  waitForExit(): Promise<number | null> {
    return this.exitPromise;
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once the child is gone. */
  async stop(graceMs = 5000): Promise<number | null> {
    if (this.exited) return this.exitPromise;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (!this.exited) this.child.kill('SIGKILL');
    }, graceMs);
    try {
      return await this.exitPromise;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts the process and resolves once it is ready; on failure kills it and rejects with its last output. */
export async function startManagedProcess<T = number>(options: ManagedProcessOptions<T>): Promise<ManagedProcess<T>> {
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownProcessGroup === true,
  });
  const proc = new ManagedProcess<T>(options.name, child);
  const timeoutMs = options.readyTimeoutMs ?? 15_000;

  const ready = new Promise<T>((resolve, reject) => {
    let settled = false;
    const settle = (err: Error | null, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err === null) resolve(value as T);
      else reject(err);
    };
    const timer = setTimeout(() => settle(new Error(`${options.name} was not ready after ${timeoutMs} ms`)), timeoutMs);
    const onLine = (line: string): void => {
      proc.keepLine(line);
      options.onLine?.(line);
      if (settled || options.readyLine === undefined) return;
      const value = options.readyLine(line);
      if (value !== undefined) settle(null, value);
    };
    for (const stream of [child.stdout, child.stderr]) {
      if (stream !== null) createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
    }
    child.once('error', (err) => settle(new Error(`${options.name} did not start: ${err.message}`)));
    child.once('exit', (code, signal) =>
      settle(new Error(`${options.name} exited before it was ready (code ${code}, signal ${signal})`)),
    );
    if (options.readyPort !== undefined) {
      const port = options.readyPort;
      const probe = (): void => {
        if (settled) return;
        const socket = connect({ host: '127.0.0.1', port });
        socket.once('connect', () => {
          socket.destroy();
          settle(null, port as unknown as T);
        });
        socket.once('error', () => {
          socket.destroy();
          setTimeout(probe, 50);
        });
      };
      probe();
    }
  });

  try {
    proc.ready = await ready;
  } catch (err) {
    await proc.stop(1000);
    const output = proc.recentOutput();
    throw new Error(`${(err as Error).message}${output === '' ? '' : `; its last output:\n${output}`}`);
  }
  return proc;
}

/** Parses a JSON log line; returns undefined for anything that is not a JSON object. */
export function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
