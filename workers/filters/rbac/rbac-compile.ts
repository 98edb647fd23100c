// An RBAC config (src/config/rbac-config.ts) compiled once per config version
// into predicate closures over one request: regexes compiled, CIDRs turned
// into masks, and what the listener fixes (destination_ip / destination_port:
// the listener's own address) decided here, so the request path does no
// parsing and no lookups. A policy matches when any of its permissions and
// any of its principals match (Envoy's RoleBasedAccessControlEngineImpl).
import type { SocketAddress } from '../../../src/config/bootstrap-types.js';
import type { CidrRange, RbacPermission, RbacPolicy, RbacPrincipal, RbacRules } from '../../../src/config/rbac-config.js';
import type { RequestView } from '../../../src/routing/request-view.js';
import { CompiledHeaderMatcher } from '../../../src/routing/route-matcher.js';
import { StringMatcher } from '../../../src/routing/string-matcher.js';
import type { TlsCertificateInfo } from '../../../src/native.js';

/** What a predicate reads of the request's connection (DownstreamConnection has these). */
export interface RbacConnectionView {
  readonly remoteAddress: string;
  readonly requestedServerName: string;
  readonly peerCertificate: TlsCertificateInfo | null;
}

/** One request as the predicates see it. */
export interface RbacRequest {
  readonly request: RequestView;
  readonly conn: RbacConnectionView;
  /** conn.remoteAddress as ipv4() reads it, parsed once per request (-1: not IPv4). */
  readonly remoteIpv4: number;
}

type Predicate = (r: RbacRequest) => boolean;

const ALWAYS: Predicate = () => true;
const NEVER: Predicate = () => false;

/** A compiled config.rbac.v3.RBAC: which policy (by name) the request matches, if any. */
export class CompiledRbacRules {
  constructor(
    readonly action: 'ALLOW' | 'DENY' | 'LOG',
    private readonly names: readonly string[],
    private readonly policies: readonly Predicate[],
  ) {}

  /** The first matching policy's name, or null. */
  matchingPolicy(r: RbacRequest): string | null {
    const p = this.policies;
    for (let i = 0; i < p.length; i++) if (p[i]!(r)) return this.names[i]!;
    return null;
  }

  /** Whether the rules let the request through (ALLOW: a policy matched; DENY: none did; LOG: always). */
  allows(r: RbacRequest): boolean {
    if (this.action === 'LOG') return true;
    const matched = this.matchingPolicy(r) !== null;
    return this.action === 'ALLOW' ? matched : !matched;
  }
}

export function compileRbacRules(rules: RbacRules, listenerAddress: SocketAddress): CompiledRbacRules {
  return new CompiledRbacRules(rules.action, rules.policies.map((p) => p.name), rules.policies.map((p) => compilePolicy(p, listenerAddress)));
}

function compilePolicy(policy: RbacPolicy, local: SocketAddress): Predicate {
  const perm = anyOf(policy.permissions.map((p) => compilePermission(p, local)));
  const princ = anyOf(policy.principals.map((p) => compilePrincipal(p, local)));
  if (perm === NEVER || princ === NEVER) return NEVER;
  return (r) => perm(r) && princ(r);
}

function anyOf(list: Predicate[]): Predicate {
  const live = list.filter((p) => p !== NEVER);
  if (live.includes(ALWAYS)) return ALWAYS;
  if (live.length === 0) return NEVER;
  if (live.length === 1) return live[0]!;
  return (r) => {
    for (let i = 0; i < live.length; i++) if (live[i]!(r)) return true;
    return false;
  };
}

function allOf(list: Predicate[]): Predicate {
  const live = list.filter((p) => p !== ALWAYS);
  if (live.includes(NEVER)) return NEVER;
  if (live.length === 0) return ALWAYS;
  if (live.length === 1) return live[0]!;
  return (r) => {
    for (let i = 0; i < live.length; i++) if (!live[i]!(r)) return false;
    return true;
  };
}

function not(p: Predicate): Predicate {
  if (p === ALWAYS) return NEVER;
  if (p === NEVER) return ALWAYS;
  return (r) => !p(r);
}

function compilePermission(p: RbacPermission, local: SocketAddress): Predicate {
  switch (p.kind) {
    case 'any':
      return ALWAYS;
    case 'and':
      return allOf(p.rules.map((x) => compilePermission(x, local)));
    case 'or':
      return anyOf(p.rules.map((x) => compilePermission(x, local)));
    case 'not':
      return not(compilePermission(p.rule, local));
    case 'header':
      return headerPredicate(new CompiledHeaderMatcher(p.header));
    case 'url_path': {
      const m = new StringMatcher(p.path);
      return (r) => m.matches(r.request.path);
    }
    case 'destination_ip':
      return cidrMatcher(p.cidr)(local.address) ? ALWAYS : NEVER;
    case 'destination_port':
      return p.port === local.port ? ALWAYS : NEVER;
    case 'requested_server_name': {
      const m = new StringMatcher(p.name);
      return (r) => m.matches(r.conn.requestedServerName);
    }
  }
}

function compilePrincipal(p: RbacPrincipal, local: SocketAddress): Predicate {
  switch (p.kind) {
    case 'any':
      return ALWAYS;
    case 'and':
      return allOf(p.ids.map((x) => compilePrincipal(x, local)));
    case 'or':
      return anyOf(p.ids.map((x) => compilePrincipal(x, local)));
    case 'not':
      return not(compilePrincipal(p.id, local));
    case 'authenticated': {
      if (p.principalName === null) return (r) => r.conn.peerCertificate !== null;
      const m = new StringMatcher(p.principalName);
      // Envoy: the URI SAN, else a DNS SAN, else the subject.
      return (r) => {
        const cert = r.conn.peerCertificate;
        if (cert === null) return false;
        if (cert.uriSans.length > 0) return cert.uriSans.some((s) => m.matches(s));
        if (cert.dnsSans.length > 0) return cert.dnsSans.some((s) => m.matches(s));
        return m.matches(cert.subject);
      };
    }
    case 'direct_remote_ip':
    case 'remote_ip':
    case 'source_ip': {
      // No trusted x-forwarded-for hops on a sidecar's inbound: the remote address is the peer's.
      const v4 = ipv4Range(p.cidr);
      if (v4 !== null) {
        const [lo, hi] = v4;
        return (r) => {
          const x = r.remoteIpv4;
          return x >= lo && x < hi;
        };
      }
      const m = cidrMatcher(p.cidr);
      return (r) => m(r.conn.remoteAddress);
    }
    case 'header':
      return headerPredicate(new CompiledHeaderMatcher(p.header));
    case 'url_path': {
      const m = new StringMatcher(p.path);
      return (r) => m.matches(r.request.path);
    }
  }
}

function headerPredicate(m: CompiledHeaderMatcher): Predicate {
  return (r) => m.matches(r.request);
}

/** An IPv4 CIDR as [first, past-last], or null for IPv6. */
function ipv4Range(cidr: CidrRange): [number, number] | null {
  const v4 = ipv4(cidr.address);
  if (v4 < 0) return null;
  const size = 2 ** (32 - Math.min(cidr.prefixLen, 32));
  const base = Math.floor(v4 / size) * size;
  return [base, base + size];
}

/** An IPv4 address (or IPv4-mapped IPv6 ::ffff:a.b.c.d) as an unsigned 32-bit number, or -1. */
export function ipv4(text: string): number {
  let s = text;
  if (s.startsWith('::ffff:')) s = s.slice(7);
  let n = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part > 255) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      part = part * 10 + (c - 48);
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0 || part > 255) return -1;
  return n * 256 + part;
}

/** An IPv6 address as 8 16-bit groups, or null. */
function ipv6(text: string): number[] | null {
  const zone = text.indexOf('%');
  const s = zone >= 0 ? text.slice(0, zone) : text;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = ipv4(p);
        if (v4 < 0) return null;
        out.push(Math.floor(v4 / 65536), v4 % 65536);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return null;
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

/** A predicate over an address text for one CIDR range (an IPv4 range also matches IPv4-mapped IPv6 peers). */
export function cidrMatcher(cidr: CidrRange): (address: string) => boolean {
  const v4 = ipv4(cidr.address);
  if (v4 >= 0) {
    const bits = Math.min(cidr.prefixLen, 32);
    const size = 2 ** (32 - bits);
    const base = Math.floor(v4 / size) * size;
    return (a) => {
      const x = ipv4(a);
      return x >= 0 && x >= base && x < base + size;
    };
  }
  const v6 = ipv6(cidr.address);
  if (v6 === null) return () => false;
  const bits = Math.min(cidr.prefixLen, 128);
  return (a) => {
    if (!a.includes(':')) return false;
    const x = ipv6(a);
    if (x === null) return false;
    let left = bits;
    for (let g = 0; g < 8 && left > 0; g++) {
      const take = Math.min(16, left);
      const mask = (0xffff << (16 - take)) & 0xffff;
      if ((x[g]! & mask) !== (v6[g]! & mask)) return false;
      left -= take;
    }
    return true;
  };
}
