// The claims of an Isthmus bootstrap token (control/ca/bootstrap-token.ts
// makes and checks them): readable by the proxy that holds the token, which
// builds its CSR for the identity they name.

export const TOKEN_PREFIX = 'ist1';

export interface TokenClaims {
  readonly id: string;
  readonly ns: string;
  readonly sa: string;
  /** Trust domain, so the proxy can name its own SPIFFE ID. */
  readonly td: string;
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
}

/** takes a token; returns its claims without checking the signature (the proxy reads its own identity this way). */
export function readTokenClaims(token: string): TokenClaims | undefined {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) return undefined;
  try {
    const c = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Partial<TokenClaims>;
    if (typeof c.id !== 'string' || typeof c.ns !== 'string' || typeof c.sa !== 'string' || typeof c.td !== 'string' || typeof c.exp !== 'number') return undefined;
    return c as TokenClaims;
  } catch {
    return undefined;
  }
}
