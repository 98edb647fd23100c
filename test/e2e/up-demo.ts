// Shared by the `isthmus up` tests: a free port range for the whole demo and
// the demo's CLI started with its output collected.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyPorts, planPorts } from '../../examples/up/port-plan.js';
import { ROOT } from './harness.js';

/** A first port whose demo ports are all free now (a random start, so parallel runs rarely meet). */
export async function freeDemoPorts(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const from = 21_000 + Math.floor(Math.random() * 350) * 32; // below the ephemeral range (32768-), where outgoing connections take ports
    if ((await busyPorts(planPorts(from).all)).length === 0) return from;
  }
  throw new Error('no free port range');
}

export interface UpDemo {
  readonly process: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
}

/** Takes `isthmus up` arguments; starts the CLI from the repository root and collects its output. */
export function startUpDemo(args: readonly string[]): UpDemo {
  const child = spawn(process.execPath, ['bin/isthmus.js', 'up', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { process: child, output: () => text };
}

/** Whether a process is still there (signal 0). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A copy of examples/bookinfo in a new temp folder (the caller removes it), for a demo whose config a test edits. */
export function bookinfoCopy(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cpSync(join(ROOT, 'examples', 'bookinfo'), dir, { recursive: true });
  return dir;
}
