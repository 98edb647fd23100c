// `isthmus apply -f FILE` and `isthmus delete -f FILE`: send a file of
// Istio-shaped YAML (`-` for stdin) to a running control plane's admin API,
// print one line per resource (`VirtualService/default/reviews configured`,
// `... rejected: apply:14: ...`), exit 1 when any was rejected (then the
// control plane changed nothing). The control plane's admin token goes in
// the Authorization header: --token / ISTHMUS_TOKEN, else the file in its
// data dir (--data-dir, the same default as `isthmus control`).

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { OptionsError, helpText, parseCommandOptions, type CommandSpec } from '../src/cli/options.js';
import { formatApiReport } from './apply-report.js';
import type { ApiResult } from './store/plan-api-change.js';
import { adminTokenPath, readAdminToken } from './admin/admin-token.js';

export type ApiOperation = 'apply' | 'delete';

const MAX_FILE_BYTES = 4 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

function commandSpec(operation: ApiOperation): CommandSpec {
  return {
    name: operation,
    usage: '-f FILE [--control URL] [--data-dir DIR | --token TOKEN]',
    summary: operation === 'apply'
      ? 'Sends resources to a running control plane: all are applied, or (when any is rejected) none.'
      : 'Deletes the applied resources a file names from a running control plane: all, or (when any is rejected) none.',
    options: [
      { name: 'filename', type: 'string', valueName: 'FILE', description: 'YAML file of one or many documents (`-` reads stdin); also -f' },
      { name: 'control', type: 'string', valueName: 'URL', default: 'http://127.0.0.1:15014', description: 'the control plane admin API' },
      { name: 'data-dir', type: 'string', valueName: 'DIR', default: './.isthmus/control', description: 'the control plane\'s data directory, where its admin token is (admin-token)' },
      { name: 'token', type: 'string', valueName: 'TOKEN', description: 'the control plane\'s admin token (instead of reading it from --data-dir)' },
    ],
  };
}

/** kubectl's `-f FILE` / `-fFILE` spelling, as `--filename FILE` (the shared option parser knows long names only). */
function expandShortFile(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const arg of argv) {
    if (arg === '-f') out.push('--filename');
    else if (arg.startsWith('-f') && !arg.startsWith('--')) out.push(`--filename=${arg.slice(2)}`);
    else out.push(arg);
  }
  return out;
}

async function readInput(path: string): Promise<string> {
  if (path !== '-') {
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new OptionsError(`-f ${path}: cannot read: ${err.code ?? err.message}`);
    });
    if (Buffer.byteLength(text) > MAX_FILE_BYTES) throw new OptionsError(`-f ${path}: larger than ${MAX_FILE_BYTES} bytes`);
    return text;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > MAX_FILE_BYTES) throw new OptionsError(`-f -: stdin is larger than ${MAX_FILE_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** --token (or ISTHMUS_TOKEN) when given, else the token file in the data dir; undefined when neither exists. */
function adminToken(flag: string | undefined, dataDir: string): string | undefined {
  if (flag !== undefined && flag !== '') return flag.trim();
  try {
    return readAdminToken(resolve(dataDir));
  } catch (err) {
    throw new OptionsError(`--data-dir ${dataDir}: cannot read the admin token: ${(err as Error).message}`);
  }
}

/** Runs apply or delete; resolves to the exit code (0 all accepted, 1 any rejected or the control plane unreachable). */
export async function runApiCommand(operation: ApiOperation, argv: readonly string[]): Promise<number> {
  const spec = commandSpec(operation);
  const parsed = parseCommandOptions(spec, expandShortFile(argv));
  if (parsed.help) {
    process.stdout.write(helpText(spec));
    return 0;
  }
  const file = parsed.values.filename as string | undefined;
  if (file === undefined || file === '') throw new OptionsError(`needs a file: isthmus ${operation} -f FILE`);
  const base = String(parsed.values.control).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(`${base}/${operation}`);
  } catch {
    throw new OptionsError(`--control ${base}: not a URL (expected e.g. http://127.0.0.1:15014)`);
  }
  const text = await readInput(file);
  const token = adminToken(parsed.values.token as string | undefined, String(parsed.values['data-dir']));
  let status: number;
  let body: string;
  try {
    const res = await fetch(url, {
      method: 'POST',
      body: text,
      headers: { 'content-type': 'application/yaml', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    status = res.status;
    body = await res.text();
  } catch (err) {
    const c = (err as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message ?? (err as Error).message;
    process.stderr.write(`isthmus ${operation}: cannot reach the control plane at ${base}: ${cause}\n`);
    return 1;
  }
  if (status === 401) {
    const where = token === undefined ? `no token given and no ${adminTokenPath(resolve(String(parsed.values['data-dir'])))}` : 'the token was refused';
    process.stderr.write(`isthmus ${operation}: the control plane needs its admin token (${where}): ${body.trim()}\n`);
    return 1;
  }
  let results: ApiResult[] | undefined;
  try {
    results = (JSON.parse(body) as { results?: ApiResult[] }).results;
  } catch {
    // not our API's answer; reported below
  }
  if (!Array.isArray(results)) {
    process.stderr.write(`isthmus ${operation}: unexpected answer from ${url.href} (HTTP ${status}): ${body.slice(0, 500)}\n`);
    return 1;
  }
  process.stdout.write(formatApiReport(results, file));
  return results.some((r) => r.outcome === 'rejected') ? 1 : 0;
}

/** Entry point of `isthmus apply` from src/cli/main.ts. */
export function run(argv: string[]): Promise<number> {
  return runApiCommand('apply', argv);
}

/** The option tables of `isthmus apply` and `isthmus delete` (for `isthmus completion`). */
export const APPLY_COMMAND = commandSpec('apply');
export const DELETE_COMMAND = commandSpec('delete');
