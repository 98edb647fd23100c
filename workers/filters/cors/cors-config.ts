// envoy.filters.http.cors: a route's CORS policy, merged once per route from
// the route's and the virtual host's policies (each attribute from the most
// specific level that sets it, as Envoy's CorsFilter reads them). A preflight
// (OPTIONS with Origin and Access-Control-Request-Method) from an allowed
// origin is answered here and never reaches the upstream; a preflight from an
// origin that is not allowed goes on to the upstream untouched (Envoy's
// default, forward_not_matching_preflights). Any response to a request from
// an allowed origin gets access-control-allow-origin (the request's origin),
// -allow-credentials and -expose-headers.
import type { CorsPolicy } from '../../../src/config/bootstrap-types.js';
import { StringMatcher } from '../../../src/routing/string-matcher.js';
import type { FilterAnswer } from '../filter-answer.js';
import { findHeader } from '../../header-block.js';
import type { ListenerFilterStats } from '../../http-filter-stats.js';
import type { RandomSource } from '../fault/fault-config.js';

/** Response headers the filter sets (replacing the upstream's), lowercased. */
const ALLOW_ORIGIN = 'access-control-allow-origin';
const ALLOW_CREDENTIALS = 'access-control-allow-credentials';
const EXPOSE_HEADERS = 'access-control-expose-headers';

function first<T>(policies: readonly CorsPolicy[], pick: (p: CorsPolicy) => T | null): T | null {
  for (const p of policies) {
    const v = pick(p);
    if (v !== null) return v;
  }
  return null;
}

function nonEmpty(s: string | null): string | null {
  return s === null || s === '' ? null : s;
}

export class CompiledCors {
  private readonly origins: readonly StringMatcher[];
  /** Some matcher accepts the literal "*": every origin is allowed (Envoy's isOriginAllowed). */
  private readonly anyOrigin: boolean;
  readonly allowMethods: string | null;
  readonly allowHeaders: string | null;
  readonly maxAge: string | null;
  readonly allowCredentials: boolean;
  readonly allowPrivateNetwork: boolean;
  /** The most specific policy's filter_enabled. */
  readonly filterEnabled: number;
  /** The most specific policy's shadow_enabled (0 when not set). */
  readonly shadowEnabled: number;
  /** Lines every response to an allowed origin carries after allow-origin. */
  private readonly responseTail: string;
  /** Names removed from the upstream's response because the filter sets them. */
  readonly responseNames: readonly string[];

  /** `policies`: most specific first (route, then virtual host); at least one. */
  constructor(
    policies: readonly CorsPolicy[],
    readonly stats: ListenerFilterStats,
    private readonly random: RandomSource = Math.random,
  ) {
    const origins = policies.find((p) => p.allowOriginStringMatch.length > 0)?.allowOriginStringMatch ?? [];
    this.origins = origins.map((m) => new StringMatcher(m));
    this.anyOrigin = this.origins.some((m) => m.matches('*'));
    this.allowMethods = first(policies, (p) => nonEmpty(p.allowMethods));
    this.allowHeaders = first(policies, (p) => nonEmpty(p.allowHeaders));
    this.maxAge = first(policies, (p) => nonEmpty(p.maxAge));
    this.allowCredentials = first(policies, (p) => p.allowCredentials) ?? false;
    this.allowPrivateNetwork = policies.some((p) => p.allowPrivateNetworkAccess);
    this.filterEnabled = policies[0]!.filterEnabled;
    this.shadowEnabled = policies[0]!.shadowEnabled ?? 0;
    const expose = first(policies, (p) => nonEmpty(p.exposeHeaders));
    let tail = '';
    const names = [ALLOW_ORIGIN];
    if (this.allowCredentials) {
      tail += `${ALLOW_CREDENTIALS}: true\r\n`;
      names.push(ALLOW_CREDENTIALS);
    }
    if (expose !== null) {
      tail += `${EXPOSE_HEADERS}: ${expose}\r\n`;
      names.push(EXPOSE_HEADERS);
    }
    this.responseTail = tail;
    this.responseNames = Object.freeze(names);
  }

  /** filter_enabled rolled for this request. */
  enabled(): boolean {
    return this.roll(this.filterEnabled);
  }

  private roll(p: number): boolean {
    return p >= 1 || (p > 0 && this.random() < p);
  }

  isOriginAllowed(origin: string): boolean {
    if (this.anyOrigin) return true;
    const m = this.origins;
    for (let i = 0; i < m.length; i++) if (m[i]!.matches(origin)) return true;
    return false;
  }

  /**
   * The request's Origin when the policy allows it, else null; counts origin_valid /
   * origin_invalid (requests without an Origin are not counted, as in Envoy).
   */
  checkOrigin(buf: Buffer, out: Uint32Array): string | null {
    // As Envoy: shadow_enabled checks and counts the origin where the filter is not enabled, and enforces nothing.
    const enforce = this.enabled();
    if (!enforce && !this.roll(this.shadowEnabled)) return null;
    const origin = findHeader(buf, out, 'origin');
    if (origin === undefined || origin === '') return null;
    if (this.isOriginAllowed(origin)) {
      this.stats.corsOriginValid++;
      return enforce ? origin : null;
    }
    this.stats.corsOriginInvalid++;
    return null;
  }

  /**
   * The answer to a preflight from an allowed origin, or null when this request is
   * not a preflight (no Access-Control-Request-Method). The allow-origin,
   * -credentials and -expose lines are added by responseHeaders, as for any
   * response to an allowed origin.
   */
  preflight(buf: Buffer, out: Uint32Array): FilterAnswer | null {
    const requestMethod = findHeader(buf, out, 'access-control-request-method');
    if (requestMethod === undefined || requestMethod === '') return null;
    let headers = '';
    const methods = this.allowMethods;
    if (methods !== null) headers += `access-control-allow-methods: ${methods === '*' ? requestMethod : methods}\r\n`;
    const allowHeaders = this.allowHeaders;
    if (allowHeaders !== null) {
      const value = allowHeaders === '*' ? (findHeader(buf, out, 'access-control-request-headers') ?? '') : allowHeaders;
      if (value !== '') headers += `access-control-allow-headers: ${value}\r\n`;
    }
    if (this.maxAge !== null) headers += `access-control-max-age: ${this.maxAge}\r\n`;
    if (this.allowPrivateNetwork && findHeader(buf, out, 'access-control-request-private-network') === 'true') {
      headers += 'access-control-allow-private-network: true\r\n';
    }
    return { status: 200, body: '', headers, flag: 0 };
  }

  /** Header lines for a response to an allowed `origin`. */
  responseHeaders(origin: string): string {
    return `${ALLOW_ORIGIN}: ${origin}\r\n${this.responseTail}`;
  }
}
