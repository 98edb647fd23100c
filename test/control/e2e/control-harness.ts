// `isthmus control` for the end-to-end tests, run as a user runs it
// (bin/isthmus.js over the compiled dist/, so `npx tsc -p .` first), and the
// `isthmus apply` / `isthmus delete` CLI beside it.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { startSidecar, type RunningProxy, type SidecarOptions } from '../../e2e/harness.js';
import { CLI, ROOT, cleanEnv, spawnIsthmus, waitFor, type LogLine } from '../../support/isthmus-process.js';

export { CLI, ROOT, cleanEnv, waitFor, type LogLine };

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
  /** The admin token the control plane created in its data dir (POST /apply and /delete need it). */
  readonly token: string;
  /** GET (or POST with a body, as `isthmus apply` sends it: YAML with the token) on the admin API. */
  admin(path: string, body?: string): Promise<{ status: number; text: string }>;
  /** Sends `signal` unless exited, waits (SIGKILL after 10 s); returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Removes the temp dir (after stop). */
  remove(): void;
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
  const proc = await spawnIsthmus(
    ['control', '--config-dir', configDir, '--data-dir', dataDir, '--admin-port', '0', '--xds-port', '0', '--secure-xds-port', '0', ...args],
    { cwd: dir, readyMsg: 'control ready' },
  ).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const { child, lines, exited, ready } = proc;
  const adminPort = (ready.admin as { port: number }).port;
  const xdsPort = (ready.xds as { port: number } | undefined)?.port ?? 0;
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const post = (body: string) => ({ method: 'POST', body, headers: { 'content-type': 'application/yaml', authorization: `Bearer ${token}` } });
  return {
    child, dir, configDir, adminPort, xdsPort, dataDir, lines, exited, token,
    async admin(path, body) {
      const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, body === undefined ? {} : post(body));
      return { status: res.status, text: await res.text() };
    },
    stop: (signal: NodeJS.Signals = 'SIGTERM') => proc.stop(signal, 10_000),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Runs the CLI to completion (for apply/delete); the control plane must not block on us, so spawnSync is fine. */
export function isthmus(args: readonly string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: cleanEnv(), encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The control plane's TLS port (--secure-xds-port 0 picks one), from its "control ready" line. */
export function securePort(c: RunningControl): number {
  return (c.lines.find((l) => l.msg === 'control ready')!.secureXds as { port: number }).port;
}

/** `isthmus token create` for service account `sa` in namespace default, written to a file in the control's dir. */
export function tokenFile(c: RunningControl, sa: string): string {
  const r = isthmus(['token', 'create', '--namespace', 'default', '--service-account', sa, '--control', `http://127.0.0.1:${c.adminPort}`, '--data-dir', c.dataDir], c.dir);
  expect(r.code, r.stderr).toBe(0);
  const file = join(c.dir, `${sa}.token`);
  writeFileSync(file, r.stdout);
  return file;
}

/** Takes a control plane and sidecar options; starts a sidecar with a workload identity (a token for its service, the control's root) over the TLS xDS port. */
export function startMeshSidecar(c: RunningControl, o: SidecarOptions): Promise<RunningProxy> {
  return startSidecar(securePort(c), { ...o, args: ['--token-file', tokenFile(c, o.service), '--control-ca', join(c.dataDir, 'root-cert.pem'), ...(o.args ?? [])] });
}
