// `isthmus ca rotate|retire-old|status`: root rotation of the control plane's
// own CA through its admin API (the running control plane holds the roots in
// its LMDB environment). See control/ca/root-rotation.ts for the phases.
import { resolve } from 'node:path';
import { OptionsError, helpText, parseCommandOptions, type CommandSpec } from '../src/cli/options.js';
import { readAdminToken } from './admin/admin-token.js';

const REQUEST_TIMEOUT_MS = 30_000;

export const CA_COMMAND: CommandSpec = {
  name: 'ca',
  usage: 'rotate | retire-old | status  [--control URL] [--data-dir DIR | --token TOKEN]',
  summary: 'Rotates the control plane\'s root CA: `rotate` adds a new root to the trust bundle (it signs after one overlap), `retire-old` drops the old root once the new one signs, `status` shows the phase.',
  positionals: true,
  options: [
    { name: 'control', type: 'string', valueName: 'URL', default: 'http://127.0.0.1:15014', description: 'the control plane admin API' },
    { name: 'data-dir', type: 'string', valueName: 'DIR', default: './.isthmus/control', description: 'the control plane\'s data directory, where its admin token is (admin-token)' },
    { name: 'token', type: 'string', valueName: 'TOKEN', description: 'the control plane\'s admin token (instead of reading it from --data-dir)' },
  ],
};

const PATHS: Record<string, { method: 'GET' | 'POST'; path: string }> = {
  rotate: { method: 'POST', path: '/ca/rotate' },
  'retire-old': { method: 'POST', path: '/ca/retire-old' },
  status: { method: 'GET', path: '/ca/rotation' },
};

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandOptions(CA_COMMAND, argv);
  if (parsed.help) {
    process.stdout.write(helpText(CA_COMMAND));
    return 0;
  }
  const [verb, ...rest] = parsed.positionals;
  const target = verb === undefined ? undefined : PATHS[verb];
  if (target === undefined || rest.length > 0) throw new OptionsError(`isthmus ca needs rotate, retire-old or status (got ${[verb, ...rest].filter(Boolean).join(' ') || 'nothing'})`);
  const v = parsed.values;
  const base = String(v.control).replace(/\/+$/, '');
  let adminToken: string | undefined;
  if (target.method === 'POST') {
    const flag = v.token as string | undefined;
    try {
      adminToken = flag !== undefined && flag !== '' ? flag.trim() : readAdminToken(resolve(String(v['data-dir'])));
    } catch (err) {
      throw new OptionsError(`--data-dir ${String(v['data-dir'])}: cannot read the admin token: ${(err as Error).message}`);
    }
  }
  let res: Response;
  try {
    res = await fetch(`${base}${target.path}`, {
      method: target.method,
      headers: { 'content-type': 'application/json', ...(adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` }) },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (err) {
    const c = (err as { cause?: { code?: string; message?: string } }).cause;
    process.stderr.write(`isthmus ca: cannot reach the control plane at ${base}: ${c?.code ?? c?.message ?? (err as Error).message}\n`);
    return 1;
  }
  const text = await res.text();
  if (res.status !== 200) {
    let message = text.trim();
    try {
      message = String((JSON.parse(text) as { error?: string }).error ?? message);
    } catch { /* not JSON: the text itself */ }
    process.stderr.write(`isthmus ca ${verb}: ${message} (HTTP ${res.status})\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
  return 0;
}
