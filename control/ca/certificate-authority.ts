// The control plane's CA: its material (own root or the operator's), the
// signer, the bootstrap tokens and the state they share. Opened once at
// control start; everything a CSR needs is checked here, and every refusal
// is a CaRefusal with a gRPC-like code and a message for the caller.
import { chmodSync, existsSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import type { Database } from 'lmdb';
import type { Logger } from '../../src/log.js';
import { spiffeId } from '../../src/identity/spiffe.js';
import { createSelfSignedRoot, loadOperatorCa, rootMaterial, type CaMaterial } from './ca-material.js';
import { LmdbCaState, type CaState } from './ca-state.js';
import { BootstrapTokens, TokenError, type TokenClaims } from './bootstrap-token.js';
import { CsrError, readCsr } from './csr-reader.js';
import { WorkloadSigner } from './workload-signer.js';
import { TokenRateLimiter, type RateLimit } from './token-rate-limit.js';

export interface CaOptions {
  readonly trustDomain: string;
  /** Operator CA (Istio's plug-in cacerts); null: the control plane's own root. */
  readonly operatorCa: { readonly cert: string; readonly key: string; readonly chain: string | null } | null;
  readonly workloadCertTtlMs: number;
  readonly maxWorkloadCertTtlMs: number;
  readonly rateLimit?: RateLimit;
}

export type RefusalCode = 'UNAUTHENTICATED' | 'PERMISSION_DENIED' | 'INVALID_ARGUMENT' | 'RESOURCE_EXHAUSTED';

export class CaRefusal extends Error {
  override readonly name = 'CaRefusal';
  constructor(readonly code: RefusalCode, message: string) {
    super(message);
  }
}

/** The public root certificate, written beside the LMDB environment so operators can hand it to proxies (--control-ca). */
export const ROOT_CERT_FILE = 'root-cert.pem';
/** How long the control plane's own serving certificate lives (re-issued at every start). */
const SERVER_CERT_TTL_MS = 365 * 24 * 3600 * 1000;

export class CertificateAuthority {
  readonly signer: WorkloadSigner;
  private readonly limiter: TokenRateLimiter;
  issuedTotal = 0;
  refusedTotal = 0;

  private constructor(
    readonly material: CaMaterial,
    readonly tokens: BootstrapTokens,
    readonly state: CaState,
    private readonly options: CaOptions,
    private readonly log: Logger,
  ) {
    this.signer = new WorkloadSigner(material);
    this.limiter = new TokenRateLimiter(options.rateLimit);
  }

  /** takes the options, the control plane's `ca` database and data dir; returns the CA (making its root on first start). */
  static async open(options: CaOptions, db: Database<unknown, string>, dataDir: string, log: Logger): Promise<CertificateAuthority> {
    const state = new LmdbCaState(db);
    // The environment holds the root key: only the control plane's user may read it.
    for (const file of ['data.mdb', 'lock.mdb']) if (existsSync(join(dataDir, file))) chmodSync(join(dataDir, file), 0o600);
    let material: CaMaterial;
    if (options.operatorCa !== null) {
      material = loadOperatorCa(options.operatorCa.cert, options.operatorCa.key, options.operatorCa.chain);
    } else {
      const root = await state.rootOrCreate(() => {
        log.info({ trustDomain: options.trustDomain }, 'creating the CA root (ECDSA P-256, 10 years) in the data directory');
        return createSelfSignedRoot(options.trustDomain);
      });
      material = rootMaterial(root);
    }
    for (const file of ['data.mdb', 'lock.mdb']) if (existsSync(join(dataDir, file))) chmodSync(join(dataDir, file), 0o600);
    const tmp = join(dataDir, `${ROOT_CERT_FILE}.tmp`);
    writeFileSync(tmp, material.rootPem, { mode: 0o644 });
    renameSync(tmp, join(dataDir, ROOT_CERT_FILE));
    const tokens = new BootstrapTokens(await state.tokenKeyOrCreate(), state, options.trustDomain);
    const dropped = await state.prune(Date.now());
    log.info({
      source: material.source, signer: material.signingCert.subject.replace(/\n/g, ', '), chainLength: material.chainPems.length,
      rootExpires: new Date(Date.parse(material.signingCert.validTo)).toISOString(), prunedRecords: dropped,
    }, 'CA ready');
    return new CertificateAuthority(material, tokens, state, options, log);
  }

  get trustDomain(): string {
    return this.options.trustDomain;
  }

  /** takes the bearer header value; returns the token's claims or throws CaRefusal(UNAUTHENTICATED). */
  authenticate(authorization: string | undefined): TokenClaims {
    const m = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (m === null) throw new CaRefusal('UNAUTHENTICATED', 'no bootstrap token: send it as "authorization: Bearer TOKEN" metadata');
    try {
      return this.tokens.verify(m[1]!);
    } catch (err) {
      if (err instanceof TokenError) throw new CaRefusal('UNAUTHENTICATED', err.message);
      throw err;
    }
  }

  /**
   * takes the caller's token claims, the CSR PEM and the requested lifetime in seconds (0: the default);
   * returns the PEM chain (workload certificate, then the CA chain up to the root) or throws CaRefusal.
   */
  createCertificate(claims: TokenClaims, csrPem: unknown, requestedSeconds: number, peer: string): string[] {
    const identity = spiffeId({ trustDomain: this.options.trustDomain, namespace: claims.ns, serviceAccount: claims.sa });
    try {
      if (!this.limiter.take(claims.id)) throw new CaRefusal('RESOURCE_EXHAUSTED', `too many certificate requests for bootstrap token ${claims.id}; retry later`);
      let csr;
      try {
        csr = readCsr(csrPem);
      } catch (err) {
        if (err instanceof CsrError) throw new CaRefusal('INVALID_ARGUMENT', err.message);
        throw err;
      }
      const others = csr.uriSans.filter((u) => u !== identity);
      if (csr.uriSans.length === 0) throw new CaRefusal('INVALID_ARGUMENT', `the CSR names no identity; it must ask for ${identity}`);
      if (others.length > 0) {
        throw new CaRefusal('PERMISSION_DENIED', `the CSR asks for ${others.join(', ')}, but bootstrap token ${claims.id} is for ${identity} only`);
      }
      const ttlMs = Math.min(requestedSeconds > 0 ? requestedSeconds * 1000 : this.options.workloadCertTtlMs, this.options.maxWorkloadCertTtlMs);
      const signed = this.signer.sign(csr, identity, ttlMs);
      this.state.recordSerial(signed.serial, { spiffeId: identity, tokenId: claims.id, notAfter: signed.notAfter.toISOString(), issuedAt: new Date().toISOString() });
      this.issuedTotal++;
      this.log.info({ identity, serial: signed.serial, notAfter: signed.notAfter.toISOString(), keyType: csr.keyType, tokenId: claims.id, peer }, 'workload certificate issued');
      return [signed.certPem, ...this.material.chainPems];
    } catch (err) {
      this.refusedTotal++;
      if (err instanceof CaRefusal) this.log.warn({ code: err.code, tokenId: claims.id, identity, peer }, `certificate request refused: ${err.message}`);
      throw err;
    }
  }

  /** takes host names and addresses; returns a serving certificate and key for the control plane's TLS port. */
  serverCertificate(names: readonly string[]): { certChainPem: string; key: KeyObject } {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
    const general = [...new Set(names)].map((n) => (isIP(n) !== 0 ? new GeneralName({ iPAddress: n }) : new GeneralName({ dNSName: n })));
    const signed = this.signer.signKey(spki, general, SERVER_CERT_TTL_MS);
    return { certChainPem: [signed.certPem, ...this.material.chainPems.slice(0, -1)].join(''), key: privateKey };
  }

  metrics(): string {
    return [
      '# HELP citadel_server_csr_count Certificate requests received.',
      '# TYPE citadel_server_csr_count counter',
      `citadel_server_csr_count ${this.issuedTotal + this.refusedTotal}`,
      '# HELP citadel_server_success_cert_issuance_count Workload certificates issued.',
      '# TYPE citadel_server_success_cert_issuance_count counter',
      `citadel_server_success_cert_issuance_count ${this.issuedTotal}`,
      '',
    ].join('\n');
  }
}
