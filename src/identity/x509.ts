// @peculiar/x509 on Node's WebCrypto, set up once per process. The library
// resolves its parts through tsyringe, which needs the Reflect metadata
// polyfill loaded first; both load only where certificates are made or read
// (the control plane's CA, the proxy's CSR), never on a plain proxy.
import { webcrypto } from 'node:crypto';

export type X509Module = typeof import('@peculiar/x509');

let loaded: Promise<X509Module> | undefined;

/** takes nothing; returns the @peculiar/x509 module with Node's WebCrypto as its provider. */
export function loadX509(): Promise<X509Module> {
  loaded ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  return loaded;
}

/** ECDSA P-256 with SHA-256: the algorithm of every key and signature Isthmus makes. */
export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** takes PEM text; returns each block of `label` (e.g. CERTIFICATE) in order, normalized. */
export function pemBlocks(text: string, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => `${m[0]}\n`);
}
