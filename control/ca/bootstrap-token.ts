// Bootstrap tokens: what a proxy shows the CA to get a certificate for one
// namespace and service account. `ist1.<claims>.<mac>`: the claims are
// base64url JSON a proxy may read (it builds its CSR from them), the mac an
// HMAC-SHA256 under a key only the control plane holds. They expire, and the
// CA state records each one so `isthmus token revoke ID` can end it early.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CaState, TokenRecord } from './ca-state.js';
import { TOKEN_PREFIX as PREFIX, type TokenClaims } from '../../src/identity/token-claims.js';

export type { TokenClaims };

/** A longer bearer value is refused unread. */
const MAX_TOKEN_CHARS = 2048;


export class TokenError extends Error {
  override readonly name = 'TokenError';
}

/** A token id: hex, so it never starts with '-' (base64url ids did one time in 64, and `isthmus token revoke ID` then read the id as an option). */
export function newTokenId(): string {
  return randomBytes(9).toString('hex');
}

export class BootstrapTokens {
  constructor(private readonly key: Buffer, private readonly state: CaState, private readonly trustDomain: string) {}

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(`${PREFIX}.${body}`).digest();
  }

  /** takes an identity and a lifetime; returns the token and its record (stored before it is returned). */
  async create(namespace: string, serviceAccount: string, ttlMs: number, now = Date.now()): Promise<{ token: string; record: TokenRecord }> {
    const id = newTokenId();
    const claims: TokenClaims = { id, ns: namespace, sa: serviceAccount, td: this.trustDomain, exp: Math.floor((now + ttlMs) / 1000) };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const record: TokenRecord = {
      id, namespace, serviceAccount, expiresAt: new Date(claims.exp * 1000).toISOString(), createdAt: new Date(now).toISOString(),
    };
    await this.state.putToken(record);
    return { token: `${PREFIX}.${body}.${this.mac(body).toString('base64url')}`, record };
  }

  /** takes a token id; returns the revoked record, or undefined when no such token was issued. */
  async revoke(id: string, now = Date.now()): Promise<TokenRecord | undefined> {
    const record = this.state.token(id);
    if (record === undefined) return undefined;
    const revoked = { ...record, revokedAt: record.revokedAt ?? new Date(now).toISOString() };
    await this.state.putToken(revoked);
    return revoked;
  }

  /** takes the bearer value a peer sent; returns its claims, or throws TokenError saying why it is refused. */
  verify(token: string, now = Date.now()): TokenClaims {
    if (token.length > MAX_TOKEN_CHARS) throw new TokenError('the bearer token is too long');
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== PREFIX) throw new TokenError('the bearer token is not an Isthmus bootstrap token');
    const [, body, mac] = parts as [string, string, string];
    const expected = this.mac(body);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError('the bootstrap token\'s signature does not verify');
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      throw new TokenError('the bootstrap token\'s claims cannot be read');
    }
    if (claims.exp * 1000 <= now) throw new TokenError(`the bootstrap token ${claims.id} expired at ${new Date(claims.exp * 1000).toISOString()}`);
    const record = this.state.token(claims.id);
    if (record === undefined) throw new TokenError(`the bootstrap token ${claims.id} is unknown to this control plane`);
    if (record.revokedAt !== undefined) throw new TokenError(`the bootstrap token ${claims.id} was revoked at ${record.revokedAt}`);
    return claims;
  }
}

