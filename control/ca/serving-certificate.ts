// The control plane's own TLS certificate on its secure port (15012), kept
// fresh: issued at start, re-issued by the CA after every root rotation phase
// (so new clients that trust only the new root reach the port once the old
// one is retired) and at half its lifetime. grpc-js watches a
// ServerCredentials for new secure-context options and hands them to the
// http2 server's setSecureContext(): new handshakes get the new certificate,
// open connections (and their xDS streams) keep theirs, and the plaintext
// port is never touched.
import { ServerCredentials } from '@grpc/grpc-js';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from '../../src/log.js';
import type { CertificateAuthority, ServingCertificatePems } from './certificate-authority.js';

/** setTimeout's longest delay; a later renewal re-arms in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Retry delay when re-issuing fails (the CA's material is checked at start, so this is rare). */
const RETRY_MS = 60_000;

/** Server credentials whose certificate can be replaced for new handshakes (grpc-js's watcher mechanism). */
export class ReplaceableServerCredentials extends ServerCredentials {
  constructor(context: SecureContextOptions) {
    super({ requestCert: false }, context);
  }

  /** takes new secure-context options; the bound TLS server uses them for every later handshake. */
  replace(context: SecureContextOptions): void {
    this.updateSecureContextOptions(context);
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

function contextOf(pems: ServingCertificatePems): SecureContextOptions {
  return {
    ca: Buffer.from(pems.signingRootPem),
    cert: Buffer.from(pems.certChainPem),
    key: Buffer.from(pems.key.export({ type: 'pkcs8', format: 'pem' }) as string),
  };
}

export interface ServingCertificateOptions {
  /** Lifetime of each serving certificate (default: the CA's SERVER_CERT_TTL_MS). */
  readonly ttlMs?: number;
}

export class ServingCertificate {
  readonly credentials: ReplaceableServerCredentials;
  private current: ServingCertificatePems;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  /** takes the CA, the host names and addresses the certificate names; issues the first certificate. */
  constructor(private readonly ca: CertificateAuthority, private readonly names: readonly string[], private readonly log: Logger, private readonly options: ServingCertificateOptions = {}) {
    this.current = this.issue();
    this.credentials = new ReplaceableServerCredentials(contextOf(this.current));
    this.arm();
    ca.onSigningChange(() => this.reissue('a root rotation phase began'));
  }

  /** The certificate served now (PEM chain, serial, expiry). */
  get pems(): ServingCertificatePems {
    return this.current;
  }

  /** Stops the renewal timer (on shutdown). */
  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private issue(): ServingCertificatePems {
    return this.options.ttlMs === undefined ? this.ca.serverCertificate(this.names) : this.ca.serverCertificate(this.names, this.options.ttlMs);
  }

  /** Issues a new certificate and serves it to new handshakes; on failure keeps the current one and retries. */
  reissue(reason: string): void {
    if (this.closed) return;
    try {
      this.current = this.issue();
      this.credentials.replace(contextOf(this.current));
      this.log.info({ serial: this.current.serial, notAfter: new Date(this.current.notAfter).toISOString(), reason }, 'control plane serving certificate re-issued');
    } catch (err) {
      this.log.error({ err, reason }, 'cannot re-issue the control plane serving certificate; serving the current one');
      this.arm(Date.now() + RETRY_MS);
      return;
    }
    this.arm();
  }

  /** Arms the timer for `at` (default: half the current certificate's lifetime). */
  private arm(at = this.current.issuedAt + (this.current.notAfter - this.current.issuedAt) / 2): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    const delay = Math.max(0, at - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      if (Date.now() >= at) this.reissue('half of its lifetime has passed');
      else this.arm(at);
    }, Math.min(delay, MAX_TIMER_MS));
    this.timer.unref();
  }
}
