// Runs one ```sh runnable block of the documentation as a reader would, but
// without touching the reader's ports or folders. The conventions a block
// follows (also in docs/README.md, "Runnable examples"):
//
// - It runs with `bash` under `set -euo pipefail`, in a fresh temporary folder
//   holding a copy of examples/, with `isthmus` on the PATH (as after
//   `npm link`; `npx isthmus` works too). So a failing command fails the test.
// - The well-known ports below (15000, 15001, 15010, ... and the example apps'
//   ports) are written as the reader uses them; the runner swaps each for a
//   free port, the same one everywhere: in the block, in its expected output,
//   in the copy of examples/, and in the defaults of the `isthmus` commands
//   (through their ISTHMUS_* variables), so a command that relies on a default
//   port still reaches the right process.
// - A long-running command (a proxy, a control plane, an app) ends with `&`
//   and sends its output to a file (`> proxy.log 2>&1 &`); the next line
//   waits for it to be ready, e.g. `curl -sf --retry 30 --retry-delay 1
//   --retry-connrefused -o /dev/null http://127.0.0.1:15000/ready`. Whatever is
//   still running when the block ends is stopped by the runner (its whole
//   process group); a block may end with `kill $(jobs -p)` as a reader would.
// - A ```text expected block after it lists lines that must appear in the
//   block's output, in order (each line as part of an output line).
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT } from '../support/isthmus-process.js';
import type { RunnableBlock } from './markdown-blocks.js';

/** The ports documentation may use literally; each is replaced by a free port when a block runs. */
export const DOCUMENTED_PORTS = [
  15000, 15001, 15006, 15010, 15012, 15014, // proxy admin, outbound, inbound; control xDS, xDS over TLS, admin
  15100, 15101, 15106, // a second proxy on the same machine
  9081, 9082, 9083, 9091, // example apps (examples/mesh)
  19081, 19082, 19083, // example apps (examples/bootstrap.yaml)
] as const;

export type PortMap = ReadonlyMap<number, number>;

/**
 * Where the stand-in ports come from: below the kernel's ephemeral range (32768-), so a test file running beside this one,
 * binding port 0 or connecting out, cannot take one between our check and the block's process binding it; and apart from
 * the `isthmus up` tests' ranges (21000-32199, test/e2e/up-demo.ts).
 */
const STAND_IN_FROM = 16_000;
const STAND_IN_TO = 21_000;

/** Resolves with `port` bound on 127.0.0.1, or null when it is taken. */
function tryListen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** A free loopback port for each documented one (held open together, so they differ, then released). */
export async function freePorts(): Promise<PortMap> {
  const servers: Server[] = [];
  const map = new Map<number, number>();
  try {
    for (const port of DOCUMENTED_PORTS) {
      for (let attempt = 0; !map.has(port); attempt++) {
        if (attempt === 200) throw new Error(`no free port in ${STAND_IN_FROM}-${STAND_IN_TO - 1}`);
        const candidate = STAND_IN_FROM + Math.floor(Math.random() * (STAND_IN_TO - STAND_IN_FROM));
        if ((DOCUMENTED_PORTS as readonly number[]).includes(candidate)) continue; // 19081-19083: keep the substitution readable
        const server = await tryListen(candidate);
        if (server === null) continue;
        servers.push(server);
        map.set(port, (server.address() as AddressInfo).port);
      }
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
  return map;
}

/** `text` with every documented port (as a whole number, not inside a longer one) replaced. */
export function substitutePorts(text: string, ports: PortMap): string {
  return text.replace(/(?<![\d.])\d{4,5}(?!\d)/g, (m) => String(ports.get(Number(m)) ?? m));
}

function substituteTree(dir: string, ports: PortMap): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) substituteTree(path, ports);
    else if (/\.(ya?ml|json|mjs)$/.test(name)) writeFileSync(path, substitutePorts(readFileSync(path, 'utf8'), ports));
  }
}

const shimHeader = '#!/usr/bin/env bash\nset -e\n';

/** The `isthmus` and `npx` commands the block sees: the repository's CLI, with default ports mapped. */
function writeShims(binDir: string, ports: PortMap): void {
  const p = (n: number): number => ports.get(n)!;
  const isthmus = `${shimHeader}case "\${1:-}" in
  control) export ISTHMUS_XDS_PORT="\${ISTHMUS_XDS_PORT:-${p(15010)}}" ISTHMUS_ADMIN_PORT="\${ISTHMUS_ADMIN_PORT:-${p(15014)}}" \\
    ISTHMUS_SECURE_XDS_PORT="\${ISTHMUS_SECURE_XDS_PORT:-${p(15012)}}" ;;
  proxy) export ISTHMUS_ADMIN_PORT="\${ISTHMUS_ADMIN_PORT:-${p(15000)}}" ISTHMUS_OUTBOUND_PORT="\${ISTHMUS_OUTBOUND_PORT:-${p(15001)}}" \\
    ISTHMUS_INBOUND_PORT="\${ISTHMUS_INBOUND_PORT:-${p(15006)}}" ;;
  up) export ISTHMUS_PORT="\${ISTHMUS_PORT:-${p(15001)}}" ISTHMUS_ADMIN_PORT="\${ISTHMUS_ADMIN_PORT:-${p(15000)}}" ;;
  apply|delete|proxy-status|proxy-config) export ISTHMUS_CONTROL="\${ISTHMUS_CONTROL:-http://127.0.0.1:${p(15014)}}" ;;
esac
exec "${process.execPath}" "${CLI}" "$@"
`;
  // `npx isthmus ...` as from the clone; anything else goes to the real npx.
  const npx = `${shimHeader}if [ "\${1:-}" = isthmus ]; then shift; exec "${join(binDir, 'isthmus')}" "$@"; fi
PATH="\${PATH#*:}" exec npx "$@"
`;
  writeFileSync(join(binDir, 'isthmus'), isthmus);
  writeFileSync(join(binDir, 'npx'), npx);
  chmodSync(join(binDir, 'isthmus'), 0o755);
  chmodSync(join(binDir, 'npx'), 0o755);
}

/** The environment of a block: ours without ISTHMUS_* and proxy variables (curl must reach 127.0.0.1 directly). */
function blockEnv(binDir: string): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('ISTHMUS_') && !/^(https?|all|no)_proxy$/i.test(k)),
  );
  return { ...env, PATH: `${binDir}:${process.env.PATH ?? ''}`, NO_COLOR: '1' };
}

export interface BlockRun {
  readonly code: number | null;
  readonly output: string;
  /** The block as run (ports substituted). */
  readonly script: string;
  /** The block's expected lines with ports substituted. */
  readonly expected: readonly string[];
  /** The *.log files the block wrote, for a failure message. */
  readonly logs: string;
  readonly timedOut: boolean;
}

/** Runs the block in a fresh workspace; stops every process it left; removes the workspace. */
export async function runBlock(block: RunnableBlock, timeoutMs: number): Promise<BlockRun> {
  const ports = await freePorts();
  const dir = mkdtempSync(join(tmpdir(), 'isthmus-docs-'));
  const binDir = join(dir, '.bin');
  const work = join(dir, 'work');
  cpSync(join(ROOT, 'examples'), join(work, 'examples'), { recursive: true, filter: (src) => !src.endsWith('.ts') });
  substituteTree(join(work, 'examples'), ports);
  mkdirSync(binDir);
  writeShims(binDir, ports);
  const script = substitutePorts(block.script, ports);
  const child = spawn('bash', ['-c', `set -euo pipefail\n${script}\n`], {
    cwd: work, env: blockEnv(binDir), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid!, 'SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  await stopGroup(child.pid!);
  await new Promise<void>((resolve) => (child.stdout.closed ? resolve() : child.stdout.once('close', () => resolve())));
  const logs = readdirSync(work).filter((f) => f.endsWith('.log'))
    .map((f) => `--- ${f}\n${readFileSync(join(work, f), 'utf8').split('\n').slice(-15).join('\n')}`).join('\n');
  rmSync(dir, { recursive: true, force: true });
  return { code, output, script, expected: block.expected.map((l) => substitutePorts(l, ports)), logs, timedOut };
}

function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // the group is gone
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to what the block left running (proxies drain), SIGKILL after 10 s. */
async function stopGroup(pid: number): Promise<void> {
  if (!killGroup(pid, 'SIGTERM')) return;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    if (!groupAlive(pid)) return;
  }
  killGroup(pid, 'SIGKILL');
}

/** The expected lines missing from `output` (each must be part of a later line than the previous one's). */
export function missingExpected(output: string, expected: readonly string[]): string[] {
  const lines = output.split('\n');
  let at = 0;
  const missing: string[] = [];
  for (const want of expected) {
    const found = lines.findIndex((l, i) => i >= at && l.includes(want));
    if (found < 0) missing.push(want);
    else at = found + 1;
  }
  return missing;
}
