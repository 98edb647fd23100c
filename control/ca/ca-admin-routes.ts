// The CA's admin API routes: bootstrap tokens are made and revoked here, by
// `isthmus token create|revoke|list` with the control plane's admin token
// (the running control plane holds the LMDB environment, and a revocation
// must take effect in it at once). The root certificate is public.
import { jsonReply, reply, TEXT, type AdminRoute } from '../../src/admin/admin-http.js';
import { parseDuration } from '../../src/cli/duration.js';
import { identityNameProblem } from '../../src/identity/spiffe.js';
import type { Logger } from '../../src/log.js';
import { CaRotationError, type CertificateAuthority } from './certificate-authority.js';

export const DEFAULT_TOKEN_TTL_MS = 24 * 3600 * 1000;
export const MAX_TOKEN_TTL_MS = 366 * 24 * 3600 * 1000;

function parseBody(body: string): Record<string, unknown> | string {
  try {
    const v = JSON.parse(body) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : 'the body must be a JSON object';
  } catch {
    return 'the body is not JSON';
  }
}

async function rotationStep(step: () => Promise<void>, ca: CertificateAuthority): Promise<ReturnType<typeof jsonReply>> {
  try {
    await step();
  } catch (err) {
    if (err instanceof CaRotationError) return jsonReply(409, { error: err.message });
    throw err;
  }
  return jsonReply(200, ca.rotationStatus());
}

export function caAdminRoutes(ca: CertificateAuthority, writeToken: { readonly token: string; readonly hint: string }, log: Logger): AdminRoute[] {
  return [
    // The trust bundle: the root, and during a rotation both roots.
    { method: 'GET', path: '/ca/root-cert', handle: () => reply(200, 'application/x-pem-file', ca.bundlePem) },
    { method: 'GET', path: '/ca/rotation', handle: () => jsonReply(200, ca.rotationStatus()) },
    { method: 'POST', path: '/ca/rotate', bearer: writeToken, handle: () => rotationStep(() => ca.rotate(), ca) },
    { method: 'POST', path: '/ca/retire-old', bearer: writeToken, handle: () => rotationStep(() => ca.retireOld(), ca) },
    {
      method: 'POST', path: '/tokens', bearer: writeToken,
      handle: async (body) => {
        const v = parseBody(body);
        if (typeof v === 'string') return jsonReply(400, { error: v });
        const ns = v.namespace;
        const sa = v.serviceAccount;
        if (typeof ns !== 'string' || typeof sa !== 'string') return jsonReply(400, { error: 'namespace and serviceAccount are required strings' });
        const problem = identityNameProblem(ns, 'namespace') ?? identityNameProblem(sa, 'service account');
        if (problem !== undefined) return jsonReply(400, { error: problem });
        const ttlMs = v.ttl === undefined ? DEFAULT_TOKEN_TTL_MS : parseDuration(v.ttl);
        if (ttlMs === undefined || ttlMs < 1000 || ttlMs > MAX_TOKEN_TTL_MS) {
          return jsonReply(400, { error: `ttl ${JSON.stringify(v.ttl)} must be a duration from 1s to ${MAX_TOKEN_TTL_MS / 86_400_000}d (e.g. 24h)` });
        }
        const { token, record } = await ca.tokens.create(ns, sa, ttlMs);
        log.info({ tokenId: record.id, namespace: ns, serviceAccount: sa, expiresAt: record.expiresAt }, 'bootstrap token created');
        return jsonReply(200, { token, ...record });
      },
    },
    {
      method: 'POST', path: '/tokens/revoke', bearer: writeToken,
      handle: async (body) => {
        const v = parseBody(body);
        if (typeof v === 'string') return jsonReply(400, { error: v });
        if (typeof v.id !== 'string' || v.id === '') return jsonReply(400, { error: 'id is required' });
        const record = await ca.tokens.revoke(v.id);
        if (record === undefined) return jsonReply(404, { error: `no bootstrap token ${v.id}` });
        log.info({ tokenId: record.id, namespace: record.namespace, serviceAccount: record.serviceAccount }, 'bootstrap token revoked');
        return jsonReply(200, record);
      },
    },
    { method: 'GET', path: '/tokens', bearer: writeToken, handle: () => jsonReply(200, { tokens: ca.state.tokens() }) },
    { method: 'GET', path: '/ca/metrics', handle: () => reply(200, TEXT, ca.metrics()) },
  ];
}
