// How other programs (the bench, the demo) start `isthmus proxy` and learn
// its ports: the command line, and the "proxy ready" log line it prints.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './compiled-path.js';
import { parseJsonLine } from './managed-process.js';

export interface ProxyReady {
  readonly listenPort: number;
  readonly adminPort: number;
}

/** Takes one output line of `isthmus proxy`; returns its ports when it is the "proxy ready" line. */
export function parseProxyReady(line: string): ProxyReady | undefined {
  const record = parseJsonLine(line);
  if (record === undefined || record.msg !== 'proxy ready') return undefined;
  const listeners = record.listeners as { port?: unknown }[] | undefined;
  const admin = record.admin as { port?: unknown } | undefined;
  const listenPort = listeners?.[0]?.port;
  if (typeof listenPort !== 'number') return undefined;
  return { listenPort, adminPort: typeof admin?.port === 'number' ? admin.port : 0 };
}

/** The `node [flags] bin/isthmus.js` command line for a subcommand, with the node flags of the bin script's `#!` line. */
export function isthmusCommand(args: readonly string[]): { command: string; args: string[] } {
  const root = packageRoot(new URL('.', import.meta.url).pathname);
  const bin = join(root, 'bin', 'isthmus.js');
  return { command: process.execPath, args: [...binNodeFlags(bin), bin, ...args] };
}

/** Takes the bin script's path; returns the node flags its `#!/usr/bin/env -S node ...` line sets (the memory settings). */
export function binNodeFlags(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const match = /^#!\S*env -S node((?: --[\w-]+(?:=\S+)?)*)\s*$/.exec(first);
  return match === null ? [] : match[1]!.trim().split(/\s+/).filter((f) => f !== '');
}

