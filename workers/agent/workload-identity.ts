// The proxy's workload identity, as istio-agent keeps it: the first
// certificate before anything is served, then a renewal at about half its
// lifetime (with jitter, so a fleet started together does not renew
// together), retried with backoff while the CA is away. The current
// certificate keeps serving meanwhile; /ready turns to not-ready only when it
// is about to expire. Each renewal makes a new key, kept in memory only and
// handed to the data plane as the SDS secrets `default` and `ROOTCA`.
import { X509Certificate } from 'node:crypto';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from '../../src/log.js';
import { ROOT_CA_SECRET, WORKLOAD_CERT_SECRET, type SdsSecrets } from '../../src/config/sds-secrets.js';
import { ControlTrust, readTokenFile, requestWorkloadCertificate, type IssuedCertificate } from './identity-client.js';

/** Renew at this fraction of the lifetime, plus or minus RENEW_JITTER of it. */
const RENEW_AT = 0.5;
const RENEW_JITTER = 0.1;
/** The longest delay a Node timer holds (2^31-1 ms, ~24.8 days): a longer one fires after 1 ms. Renewing sooner is harmless. */
const MAX_TIMER_MS = 0x7fffffff;
/** Not ready when less than this fraction of the lifetime is left (and the renewal has not come through). */
const EXPIRY_WARNING = 0.1;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export interface WorkloadIdentityOptions {
  readonly target: string;
  /** A ControlTrust: new credentials per request, and each answer's trust bundle learnt (root rotation). */
  readonly credentials: ChannelCredentials | ControlTrust;
  readonly tokenFile: string;
  /** Requested lifetime in seconds; 0: the CA's default. */
  readonly ttlSeconds: number;
  readonly log: Logger;
  /** Keep the process alive for the renewal timer (`isthmus agent`, which serves nothing else). Default false. */
  readonly holdProcess?: boolean;
  /** Called with the new secrets after every issuance (the first included). */
  readonly onSecrets: (secrets: SdsSecrets) => void;
}

export interface CurrentCertificate extends IssuedCertificate {
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly issuedAt: number;
}

export class WorkloadIdentity {
  private current: CurrentCertificate | null = null;
  private timer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private closed = false;
  private lastError: string | null = null;
  rotations = 0;
  failures = 0;
  private firstWaiters: ((c: CurrentCertificate) => void)[] = [];

  constructor(private readonly options: WorkloadIdentityOptions) {}

  /** Starts; resolves with the first certificate (retrying with backoff until one comes or close()). */
  start(): Promise<CurrentCertificate> {
    const first = new Promise<CurrentCertificate>((resolve) => this.firstWaiters.push(resolve));
    void this.renew();
    return first;
  }

  get certificate(): CurrentCertificate | null {
    return this.current;
  }

  /** The SDS secrets for the data plane (empty before the first certificate). */
  secrets(): SdsSecrets {
    const c = this.current;
    if (c === null) return {};
    return {
      [WORKLOAD_CERT_SECRET]: { name: WORKLOAD_CERT_SECRET, certificate: { chainPem: c.chainPem, keyPem: c.keyPem, chainPath: null, keyPath: null } },
      [ROOT_CA_SECRET]: { name: ROOT_CA_SECRET, trustedCaPem: c.rootPem, trustedCaPath: null },
    };
  }

  /** null when the certificate is fine; else why the proxy is not ready. */
  notReadyReason(now = Date.now()): string | null {
    const c = this.current;
    if (c === null) return `waiting for the workload certificate from the CA at ${this.options.target}${this.lastError === null ? '' : ` (last error: ${this.lastError})`}`;
    const left = c.notAfter - now;
    if (left <= (c.notAfter - Math.max(c.notBefore, c.issuedAt)) * EXPIRY_WARNING) {
      return `the workload certificate ${left <= 0 ? 'expired' : 'expires'} at ${new Date(c.notAfter).toISOString()} and could not be renewed${this.lastError === null ? '' : ` (${this.lastError})`}`;
    }
    return null;
  }

  private async renew(): Promise<void> {
    if (this.closed) return;
    try {
      const { token, claims } = readTokenFile(this.options.tokenFile);
      const trust = this.options.credentials;
      const issued = await requestWorkloadCertificate({
        target: this.options.target, credentials: trust instanceof ControlTrust ? trust.credentials() : trust, token, claims, ttlSeconds: this.options.ttlSeconds,
      });
      if (this.closed) return;
      if (trust instanceof ControlTrust) trust.learn(issued.rootPem);
      const leaf = new X509Certificate(issued.chainPem);
      const c: CurrentCertificate = {
        ...issued, serial: leaf.serialNumber.toLowerCase(), notBefore: Date.parse(leaf.validFrom), notAfter: Date.parse(leaf.validTo), issuedAt: Date.now(),
      };
      const rotated = this.current !== null;
      this.current = c;
      this.attempt = 0;
      this.lastError = null;
      if (rotated) this.rotations++;
      this.options.log.info({ spiffeId: c.spiffeId, serial: c.serial, notAfter: new Date(c.notAfter).toISOString(), rotated }, rotated ? 'workload certificate rotated' : 'workload certificate issued');
      this.options.onSecrets(this.secrets());
      for (const w of this.firstWaiters.splice(0)) w(c);
      this.schedule(this.renewDelay(c));
    } catch (err) {
      if (this.closed) return;
      this.failures++;
      this.lastError = (err as Error).message;
      const delay = this.backoff();
      this.options.log.warn({ error: this.lastError, retryInMs: delay, serving: this.current?.serial ?? null }, 'workload certificate request failed; retrying');
      this.schedule(delay);
    }
  }

  /** About half the lifetime from issuance, with ±10% jitter (notBefore is backdated for clock skew: not the start). */
  private renewDelay(c: CurrentCertificate, now = Date.now()): number {
    const start = Math.max(c.notBefore, c.issuedAt);
    const lifetime = c.notAfter - start;
    const at = start + lifetime * (RENEW_AT + (Math.random() * 2 - 1) * RENEW_JITTER);
    return Math.max(0, at - now);
  }

  /** Exponential with full jitter, capped; never past the current certificate's expiry warning. */
  private backoff(now = Date.now()): number {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.attempt++, 16));
    let delay = BACKOFF_MIN_MS / 2 + Math.random() * ceiling;
    const c = this.current;
    if (c !== null) delay = Math.min(delay, Math.max(BACKOFF_MIN_MS, (c.notAfter - now) / 4));
    return Math.round(delay);
  }

  private schedule(ms: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.renew();
    }, Math.min(ms, MAX_TIMER_MS));
    if (this.options.holdProcess !== true) this.timer.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

