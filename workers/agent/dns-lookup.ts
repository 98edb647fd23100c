// One DNS name to addresses, by a cluster's dns_lookup_family: through the
// cluster's own resolvers (Node's c-ares Resolver, with TTLs) when it names
// some, else through the system's (getaddrinfo, which reads /etc/hosts, no TTL).
// Runs in the agent only; never on the request path.
import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { DnsLookupFamily, SocketAddress } from '../../src/config/bootstrap-types.js';

/** At most this many addresses of one name become endpoints (a hostile resolver could answer thousands). */
export const MAX_ADDRESSES_PER_NAME = 64;
/** c-ares per-try timeout and tries: a dead resolver costs at most ~4 s per refresh. */
const QUERY_TIMEOUT_MS = 2_000;
const QUERY_TRIES = 2;

/** A lookup's outcome: `found` (possibly empty: the name does not exist) or `failed` (timeout, refused...: keep what we had). */
export type LookupResult =
  | { readonly status: 'found'; readonly addresses: readonly string[]; /** Smallest TTL, ms; undefined when unknown. */ readonly ttlMs: number | undefined }
  | { readonly status: 'failed'; readonly reason: string };

/** Answers that mean "no such name / no such record": a completed lookup with no addresses, as Envoy treats them. */
const NOT_FOUND = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA', 'NXDOMAIN']);

function failure(err: unknown): LookupResult | 'empty' {
  const code = (err as { code?: string }).code ?? '';
  if (NOT_FOUND.has(code)) return 'empty';
  return { status: 'failed', reason: code === '' ? String(err) : code };
}

/** The resolvers of one cluster; a Resolver per distinct resolver list, cancelled on close. */
export class DnsLookup {
  private readonly resolver: Resolver | null;

  constructor(resolvers: readonly SocketAddress[]) {
    if (resolvers.length === 0) {
      this.resolver = null;
      return;
    }
    this.resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
    this.resolver.setServers(resolvers.map((r) => (r.address.includes(':') ? `[${r.address}]:${r.port}` : `${r.address}:${r.port}`)));
  }

  close(): void {
    this.resolver?.cancel();
  }

  /** Resolves `name` for `family`; an IP literal answers itself. Never rejects. */
  async resolve(name: string, family: DnsLookupFamily): Promise<LookupResult> {
    if (isIP(name) !== 0) return { status: 'found', addresses: [name], ttlMs: undefined };
    const host = name.endsWith('.') ? name.slice(0, -1) : name;
    return this.resolver === null ? this.viaSystem(host, family) : this.viaResolver(this.resolver, host, family);
  }

  private async viaResolver(resolver: Resolver, name: string, family: DnsLookupFamily): Promise<LookupResult> {
    const query = async (v: 4 | 6): Promise<LookupResult | 'empty'> => {
      try {
        const records = v === 4 ? await resolver.resolve4(name, { ttl: true }) : await resolver.resolve6(name, { ttl: true });
        if (records.length === 0) return 'empty';
        const ttl = Math.min(...records.map((r) => r.ttl));
        return { status: 'found', addresses: records.slice(0, MAX_ADDRESSES_PER_NAME).map((r) => r.address), ttlMs: ttl * 1000 };
      } catch (err) {
        return failure(err);
      }
    };
    return byFamily(family, query);
  }

  private async viaSystem(name: string, family: DnsLookupFamily): Promise<LookupResult> {
    const query = async (v: 4 | 6): Promise<LookupResult | 'empty'> => {
      try {
        const records = await lookup(name, { all: true, family: v });
        if (records.length === 0) return 'empty';
        return { status: 'found', addresses: records.slice(0, MAX_ADDRESSES_PER_NAME).map((r) => r.address), ttlMs: undefined };
      } catch (err) {
        return failure(err);
      }
    };
    return byFamily(family, query);
  }
}

const EMPTY: LookupResult = { status: 'found', addresses: [], ttlMs: undefined };

/** Envoy's dns_lookup_family: AUTO = IPv6, else IPv4; V4_PREFERRED = IPv4, else IPv6; ALL = both. */
async function byFamily(family: DnsLookupFamily, query: (v: 4 | 6) => Promise<LookupResult | 'empty'>): Promise<LookupResult> {
  const done = (r: LookupResult | 'empty'): LookupResult => (r === 'empty' ? EMPTY : r);
  switch (family) {
    case 'V4_ONLY':
      return done(await query(4));
    case 'V6_ONLY':
      return done(await query(6));
    case 'AUTO':
    case 'V4_PREFERRED': {
      const [first, second] = family === 'AUTO' ? [6, 4] as const : [4, 6] as const;
      const a = await query(first);
      if (a !== 'empty' && a.status === 'found') return a;
      const b = await query(second);
      // The preferred family failed and the other has nothing: report the failure (keep the last answer).
      if (b === 'empty') return a === 'empty' ? EMPTY : a;
      return b;
    }
    case 'ALL': {
      const [a, b] = await Promise.all([query(4), query(6)]);
      if (a !== 'empty' && a.status === 'failed' && (b === 'empty' || b.status === 'failed')) return a;
      if (b !== 'empty' && b.status === 'failed' && a === 'empty') return b;
      const found = [a, b].filter((r): r is Extract<LookupResult, { status: 'found' }> => r !== 'empty' && r.status === 'found');
      const ttls = found.map((r) => r.ttlMs).filter((t): t is number => t !== undefined);
      return {
        status: 'found',
        addresses: found.flatMap((r) => r.addresses).slice(0, MAX_ADDRESSES_PER_NAME),
        ttlMs: ttls.length === 0 ? undefined : Math.min(...ttls),
      };
    }
  }
}
