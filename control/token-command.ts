// `isthmus token create|revoke|list`: bootstrap tokens for proxies, made by a
// running control plane through its admin API with the admin token (as
// `isthmus apply` sends config). The running control plane holds the LMDB
// environment, so a revocation takes effect in it at once. `create` prints the
// token alone on stdout (`> token-file`), its id and expiry on stderr.
import { resolve } from 'node:path';
import { OptionsError, helpText, parseCommandOptions, type CommandSpec } from '../src/cli/options.js';
import { readAdminToken } from './admin/admin-token.js';

const REQUEST_TIMEOUT_MS = 30_000;

export const TOKEN_COMMAND: CommandSpec = {
  name: 'token',
  usage: 'create --namespace NS --service-account SA [--ttl DURATION] | revoke ID | list  [--control URL] [--data-dir DIR | --token TOKEN]',
  summary: 'Creates, revokes or lists the bootstrap tokens proxies present to the control plane\'s CA (one namespace and service account each).',
  positionals: true,
  options: [
    { name: 'namespace', type: 'string', valueName: 'NS', description: 'create: the namespace the token is bound to' },
    { name: 'service-account', type: 'string', valueName: 'SA', description: 'create: the service account the token is bound to' },
    { name: 'ttl', type: 'string', valueName: 'DURATION', default: '24h', description: 'create: how long the token may be used (e.g. 1h, 7d is 168h)' },
    { name: 'control', type: 'string', valueName: 'URL', default: 'http://127.0.0.1:15014', description: 'the control plane admin API' },
    { name: 'data-dir', type: 'string', valueName: 'DIR', default: './.isthmus/control', description: 'the control plane\'s data directory, where its admin token is (admin-token)' },
    { name: 'token', type: 'string', valueName: 'TOKEN', description: 'the control plane\'s admin token (instead of reading it from --data-dir)' },
  ],
};

async function call(base: string, method: 'GET' | 'POST', path: string, adminToken: string | undefined, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { 'content-type': 'application/json', ...(adminToken === undefined ? {} : { authorization: `Bearer ${adminToken}` }) },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { error: text.trim() };
  }
  return { status: res.status, json };
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandOptions(TOKEN_COMMAND, argv);
  if (parsed.help) {
    process.stdout.write(helpText(TOKEN_COMMAND));
    return 0;
  }
  const [verb, ...rest] = parsed.positionals;
  const v = parsed.values;
  const base = String(v.control).replace(/\/+$/, '');
  const flag = v.token as string | undefined;
  let adminToken: string | undefined;
  try {
    adminToken = flag !== undefined && flag !== '' ? flag.trim() : readAdminToken(resolve(String(v['data-dir'])));
  } catch (err) {
    throw new OptionsError(`--data-dir ${String(v['data-dir'])}: cannot read the admin token: ${(err as Error).message}`);
  }
  let result: { status: number; json: Record<string, unknown> };
  try {
    if (verb === 'create') {
      if (rest.length > 0) throw new OptionsError(`token create takes no arguments (got ${rest.join(' ')})`);
      if (v.namespace === undefined || v['service-account'] === undefined) throw new OptionsError('token create needs --namespace NS and --service-account SA');
      result = await call(base, 'POST', '/tokens', adminToken, { namespace: v.namespace, serviceAccount: v['service-account'], ttl: v.ttl });
    } else if (verb === 'revoke') {
      if (rest.length !== 1) throw new OptionsError('token revoke takes one token ID (see `isthmus token list`)');
      result = await call(base, 'POST', '/tokens/revoke', adminToken, { id: rest[0] });
    } else if (verb === 'list') {
      result = await call(base, 'GET', '/tokens', adminToken);
    } else {
      throw new OptionsError(`isthmus token needs create, revoke or list (got ${verb ?? 'nothing'})`);
    }
  } catch (err) {
    if (err instanceof OptionsError) throw err;
    const c = (err as { cause?: { code?: string; message?: string } }).cause;
    process.stderr.write(`isthmus token: cannot reach the control plane at ${base}: ${c?.code ?? c?.message ?? (err as Error).message}\n`);
    return 1;
  }
  if (result.status !== 200) {
    process.stderr.write(`isthmus token ${verb}: ${String(result.json.error ?? JSON.stringify(result.json))} (HTTP ${result.status})\n`);
    return 1;
  }
  const j = result.json;
  if (verb === 'create') {
    process.stdout.write(`${String(j.token)}\n`);
    process.stderr.write(`token ${String(j.id)} for ${String(j.namespace)}/${String(j.serviceAccount)}, expires ${String(j.expiresAt)}\n`);
  } else if (verb === 'revoke') {
    process.stdout.write(`token ${String(j.id)} revoked (${String(j.namespace)}/${String(j.serviceAccount)})\n`);
  } else {
    const tokens = (j.tokens as { id: string; namespace: string; serviceAccount: string; expiresAt: string; revokedAt?: string }[]) ?? [];
    process.stdout.write(`${'ID'.padEnd(20)}${'NAMESPACE/SERVICE-ACCOUNT'.padEnd(43)}${'EXPIRES'.padEnd(26)}STATE\n`);
    for (const t of tokens) {
      const state = t.revokedAt !== undefined ? 'revoked' : Date.parse(t.expiresAt) <= Date.now() ? 'expired' : 'valid';
      process.stdout.write(`${t.id.padEnd(20)}${`${t.namespace}/${t.serviceAccount}`.padEnd(43)}${t.expiresAt.padEnd(26)}${state}\n`);
    }
  }
  return 0;
}
