// The control plane's CA: its material (own root or the operator's), the
// signer, the bootstrap tokens and the state they share. Opened once at
// control start; everything a CSR needs is checked here, and every refusal
// is a CaRefusal with a gRPC-like code and a message for the caller.
import { chmodSync, existsSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import type { Database } from 'lmdb';
import type { Logger } from '../../src/log.js';
import { spiffeId } from '../../src/identity/spiffe.js';
import { createSelfSignedRoot, crossCertificate, loadOperatorCa, rootMaterial, type CaMaterial, type StoredRoot } from './ca-material.js';
import { advanceRotation, rotationPhase, trustBundle, type RootRotation } from './root-rotation.js';
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
  /** Each phase of a root rotation lasts this long (>= the longest workload certificate lifetime); default 24h. */
  readonly rootRotationOverlapMs?: number;
}

/** Default length of each root rotation phase: the default workload certificate lifetime. */
export const DEFAULT_ROOT_ROTATION_OVERLAP_MS = 24 * 3600 * 1000;
/** How often the CA looks whether a rotation phase is due. */
const ROTATION_TICK_MS = 1000;

export type RefusalCode = 'UNAUTHENTICATED' | 'PERMISSION_DENIED' | 'INVALID_ARGUMENT' | 'RESOURCE_EXHAUSTED';

export class CaRotationError extends Error {
  override readonly name = 'CaRotationError';
}

/** Writes the trust bundle to DATA_DIR/root-cert.pem by an atomic rename (operators hand it to proxies as --control-ca). */
function writeRootFile(dataDir: string, pem: string): void {
  const tmp = join(dataDir, `${ROOT_CERT_FILE}.tmp`);
  writeFileSync(tmp, pem, { mode: 0o644 });
  renameSync(tmp, join(dataDir, ROOT_CERT_FILE));
}

/** The control plane's own serving certificate (serverCertificate()). */
export interface ServingCertificatePems {
  /** The certificate, then what a client needs above it (intermediates; during a rotation the cross-certificate). */
  readonly certChainPem: string;
  readonly key: KeyObject;
  readonly serial: string;
  /** Unix ms. */
  readonly issuedAt: number;
  readonly notAfter: number;
  /** The root it chains to without the cross-certificate. */
  readonly signingRootPem: string;
}

export class CaRefusal extends Error {
  override readonly name = 'CaRefusal';
  constructor(readonly code: RefusalCode, message: string) {
    super(message);
  }
}

/** The public root certificate, written beside the LMDB environment so operators can hand it to proxies (--control-ca). */
export const ROOT_CERT_FILE = 'root-cert.pem';
/** How long the control plane's own serving certificate lives (re-issued at every start, every rotation phase and at half its life). */
export const SERVER_CERT_TTL_MS = 30 * 24 * 3600 * 1000;

/**
 * takes the signing root and the rotation; returns the cross-certificate served after the control plane's
 * own certificate during a rotation (the signing root certified by the other root), or null outside one.
 */
async function rotationCrossCertificate(root: StoredRoot | null, rotation: RootRotation | undefined): Promise<string | null> {
  const other = rotation?.pending ?? rotation?.previous ?? null;
  return root === null || other === null ? null : crossCertificate(root, other);
}

export class CertificateAuthority {
  signer: WorkloadSigner;
  /** The trust bundle proxies get as ROOTCA: the root, and during a rotation the other root too. */
  bundlePem: string;
  private rotationTimer: NodeJS.Timeout | null = null;
  /** Told the new bundle whenever it changes (the ADS server's ROOTCA Secret). */
  private readonly bundleListeners: ((pem: string) => void)[] = [];
  /** Told when the signing material or the cross-certificate changes (the serving certificate is re-issued). */
  private readonly signingListeners: (() => void)[] = [];
  private readonly limiter: TokenRateLimiter;
  issuedTotal = 0;
  refusedTotal = 0;
  /** Refused requests by code, token checks included (the control /metrics shows them by reason). */
  readonly refusalsByCode = new Map<RefusalCode, number>();

  private constructor(
    public material: CaMaterial,
    readonly tokens: BootstrapTokens,
    readonly state: CaState,
    private readonly options: CaOptions,
    private readonly log: Logger,
    private readonly dataDir: string,
    private root: StoredRoot | null,
    /** During a rotation: the signing root certified by the other root (served after the control plane's own certificate). */
    private crossPem: string | null,
  ) {
    this.signer = new WorkloadSigner(material);
    this.limiter = new TokenRateLimiter(options.rateLimit);
    this.bundlePem = root === null ? material.rootPem : trustBundle(root, state.rotation());
    if (root !== null) {
      this.rotationTimer = setInterval(() => void this.advance(Date.now()), ROTATION_TICK_MS);
      this.rotationTimer.unref();
    }
  }

  /** Calls `listener` with the trust bundle now and after every change (a root rotation phase). */
  onTrustBundle(listener: (pem: string) => void): void {
    this.bundleListeners.push(listener);
    listener(this.bundlePem);
  }

  /** Calls `listener` after every rotation phase (the signing root, or the root beside it, changed). */
  onSigningChange(listener: () => void): void {
    this.signingListeners.push(listener);
  }

  /** Stops the rotation timer (on shutdown). */
  close(): void {
    if (this.rotationTimer !== null) clearInterval(this.rotationTimer);
    this.rotationTimer = null;
  }

  private get overlapMs(): number {
    return this.options.rootRotationOverlapMs ?? DEFAULT_ROOT_ROTATION_OVERLAP_MS;
  }

  /** Where a rotation stands: phase, the roots' serials, when the next phase begins. */
  rotationStatus(): Record<string, unknown> {
    const r = this.state.rotation();
    const serial = (pem: string | undefined): string | null => (pem === undefined ? null : new X509Certificate(pem).serialNumber.toLowerCase());
    return {
      phase: rotationPhase(r),
      signingRoot: serial(this.root?.certPem ?? this.material.rootPem),
      ...(r?.pending != null ? { newRoot: serial(r.pending.certPem), signsFrom: new Date(r.switchAt).toISOString() } : {}),
      ...(r?.previous != null ? { oldRoot: serial(r.previous.certPem), retiredAt: new Date(r.retireAt).toISOString() } : {}),
      overlapMs: this.overlapMs,
    };
  }

  /** `isthmus ca rotate`: a new root joins the trust bundle, and signs after one overlap. Throws CaRotationError. */
  async rotate(now = Date.now()): Promise<void> {
    if (this.root === null) throw new CaRotationError('the CA is the operator\'s (--ca-cert): rotate it by restarting with the new files');
    if (this.state.rotation() !== undefined) throw new CaRotationError(`a rotation is in progress (${rotationPhase(this.state.rotation())})`);
    const next = await createSelfSignedRoot(this.options.trustDomain, now);
    await this.apply(this.root, { pending: next, previous: null, switchAt: now + this.overlapMs, retireAt: now + 2 * this.overlapMs }, 'root rotation started: the new root is trusted and signs after the overlap');
  }

  /** `isthmus ca retire-old`: the old root leaves the trust bundle now (only once the new root signs). */
  async retireOld(): Promise<void> {
    const r = this.state.rotation();
    if (rotationPhase(r) !== 'signing-with-new-root') {
      throw new CaRotationError(r === undefined ? 'no rotation is in progress' : 'the new root does not sign yet: proxies that have not renewed would not trust its certificates');
    }
    await this.apply(this.root!, undefined, 'old root retired');
  }

  /** Applies the phases that are due at `now`. */
  async advance(now: number): Promise<void> {
    if (this.root === null) return;
    const r = this.state.rotation();
    if (r === undefined) return;
    const next = advanceRotation(this.root, r, now);
    if (next.root === this.root && next.rotation === r) return;
    await this.apply(next.root, next.rotation, next.rotation === undefined ? 'old root retired' : 'the new root signs now');
  }

  private async apply(root: StoredRoot, rotation: RootRotation | undefined, message: string): Promise<void> {
    await this.state.putRoots(root, rotation);
    if (root !== this.root) {
      this.material = rootMaterial(root);
      this.signer = new WorkloadSigner(this.material);
    }
    this.root = root;
    try {
      this.crossPem = await rotationCrossCertificate(root, rotation);
    } catch (err) {
      // Only clients trusting the other root alone lose the shortcut; the phase itself stands.
      this.crossPem = null;
      this.log.error({ err }, 'cannot make the rotation cross-certificate; serving without it');
    }
    this.bundlePem = trustBundle(root, rotation);
    writeRootFile(this.dataDir, this.bundlePem);
    for (const listener of this.bundleListeners) listener(this.bundlePem);
    for (const listener of this.signingListeners) listener();
    this.log.info(this.rotationStatus(), message);
  }

  /** takes the options, the control plane's `ca` database and data dir; returns the CA (making its root on first start). */
  static async open(options: CaOptions, db: Database<unknown, string>, dataDir: string, log: Logger): Promise<CertificateAuthority> {
    const state = new LmdbCaState(db);
    // The environment holds the root key: only the control plane's user may read it.
    for (const file of ['data.mdb', 'lock.mdb']) if (existsSync(join(dataDir, file))) chmodSync(join(dataDir, file), 0o600);
    let material: CaMaterial;
    let root: StoredRoot | null = null;
    if (options.operatorCa !== null) {
      material = loadOperatorCa(options.operatorCa.cert, options.operatorCa.key, options.operatorCa.chain);
    } else {
      const stored = await state.rootOrCreate(() => {
        log.info({ trustDomain: options.trustDomain }, 'creating the CA root (ECDSA P-256, 10 years) in the data directory');
        return createSelfSignedRoot(options.trustDomain);
      });
      // Rotation phases that came due while the control plane was down apply now.
      const advanced = advanceRotation(stored, state.rotation(), Date.now());
      if (advanced.root !== stored || advanced.rotation !== state.rotation()) await state.putRoots(advanced.root, advanced.rotation);
      root = advanced.root;
      material = rootMaterial(root);
    }
    for (const file of ['data.mdb', 'lock.mdb']) if (existsSync(join(dataDir, file))) chmodSync(join(dataDir, file), 0o600);
    writeRootFile(dataDir, root === null ? material.rootPem : trustBundle(root, state.rotation()));
    const tokens = new BootstrapTokens(await state.tokenKeyOrCreate(), state, options.trustDomain);
    const dropped = await state.prune(Date.now());
    log.info({
      source: material.source, signer: material.signingCert.subject.replace(/\n/g, ', '), chainLength: material.chainPems.length,
      rootExpires: new Date(Date.parse(material.signingCert.validTo)).toISOString(), prunedRecords: dropped,
    }, 'CA ready');
    return new CertificateAuthority(material, tokens, state, options, log, dataDir, root, await rotationCrossCertificate(root, state.rotation()));
  }

  get trustDomain(): string {
    return this.options.trustDomain;
  }

  /** takes the bearer header value; returns the token's claims or throws CaRefusal(UNAUTHENTICATED). */
  authenticate(authorization: string | undefined): TokenClaims {
    const m = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (m === null) throw this.refusal(new CaRefusal('UNAUTHENTICATED', 'no bootstrap token: send it as "authorization: Bearer TOKEN" metadata'));
    try {
      return this.tokens.verify(m[1]!);
    } catch (err) {
      if (err instanceof TokenError) throw this.refusal(new CaRefusal('UNAUTHENTICATED', err.message));
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
      // The last element is the trust bundle (Istio puts the root last): two roots during a rotation.
      return [signed.certPem, ...this.material.chainPems.slice(0, -1), this.bundlePem];
    } catch (err) {
      this.refusedTotal++;
      if (err instanceof CaRefusal) this.refusal(err);
      if (err instanceof CaRefusal) this.log.warn({ code: err.code, tokenId: claims.id, identity, peer }, `certificate request refused: ${err.message}`);
      throw err;
    }
  }

  /**
   * takes host names and addresses; returns a serving certificate and key for the control plane's TLS port,
   * from the current signing material. Its chain: the certificate, the intermediates, and during a rotation
   * the cross-certificate, so a client trusting either root verifies it.
   */
  serverCertificate(names: readonly string[], ttlMs = SERVER_CERT_TTL_MS, now = Date.now()): ServingCertificatePems {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const general = [...new Set(names)].map((n) => (isIP(n) !== 0 ? `IP:${n}` : `DNS:${n}`));
    const signed = this.signer.signKey(spki, general, ttlMs, now);
    const chain = [signed.certPem, ...this.material.chainPems.slice(0, -1), ...(this.crossPem === null ? [] : [this.crossPem])];
    return { certChainPem: chain.join(''), key: privateKey, serial: signed.serial, issuedAt: now, notAfter: signed.notAfter.getTime(), signingRootPem: this.material.rootPem };
  }

  /** Counts a refusal by its code; returns it (to throw). */
  private refusal(err: CaRefusal): CaRefusal {
    this.refusalsByCode.set(err.code, (this.refusalsByCode.get(err.code) ?? 0) + 1);
    return err;
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
