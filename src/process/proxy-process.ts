// How other programs (the bench, the demo) start `isthmus proxy` and learn
// its ports: the command line, and the "proxy ready" log line it prints.
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

/** The `node bin/isthmus.js` command line for a subcommand. */
export function isthmusCommand(args: readonly string[]): { command: string; args: string[] } {
  const root = packageRoot(new URL('.', import.meta.url).pathname);
  return { command: process.execPath, args: [join(root, 'bin', 'isthmus.js'), ...args] };
}

