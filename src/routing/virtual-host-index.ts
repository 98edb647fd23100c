// Virtual host selection by authority, in Envoy's order: exact domain, then
// the longest suffix wildcard ("*.foo.com", "*-bar.foo.com"), then the longest
// prefix wildcard ("foo.*"), then "*". A wildcard never matches an empty part.
// If only "*" would match and the authority carries a port, the lookup is
// repeated without the port first. Exact domains are one Map lookup.

interface WildcardLevel<T> {
  /** Length of the fixed part ("*.foo.com" → ".foo.com".length). */
  readonly length: number;
  readonly byPart: Map<string, T>;
}

export class VirtualHostIndex<T> {
  private readonly exact = new Map<string, T>();
  private readonly suffixes: WildcardLevel<T>[] = [];
  private readonly prefixes: WildcardLevel<T>[] = [];
  private fallback: T | null = null;
  /** Only "*" is served (a catch-all listener): every authority gets the fallback, no lookup needed. */
  private readonly onlyFallback: boolean;

  /** Takes [lowercased domains, value] pairs; the first owner of a domain keeps it. */
  constructor(entries: Iterable<readonly [readonly string[], T]>) {
    for (const [domains, value] of entries) {
      for (const domain of domains) this.add(domain, value);
    }
    // Longest fixed part first: the most specific wildcard wins.
    this.suffixes.sort((a, b) => b.length - a.length);
    this.prefixes.sort((a, b) => b.length - a.length);
    this.onlyFallback = this.exact.size === 0 && this.suffixes.length === 0 && this.prefixes.length === 0;
  }

  private add(domain: string, value: T): void {
    if (domain === '*') {
      this.fallback ??= value;
    } else if (domain.startsWith('*')) {
      addWildcard(this.suffixes, domain.slice(1), value);
    } else if (domain.endsWith('*')) {
      addWildcard(this.prefixes, domain.slice(0, -1), value);
    } else if (!this.exact.has(domain)) {
      this.exact.set(domain, value);
    }
  }

  /** Takes a lowercased authority (may include ':port'); returns the selected value or null. */
  find(authority: string): T | null {
    if (this.onlyFallback) return this.fallback;
    const hit = this.findSpecific(authority);
    if (hit !== null) return hit;
    const colon = portColon(authority);
    if (colon !== -1) {
      const withoutPort = this.findSpecific(authority.slice(0, colon));
      if (withoutPort !== null) return withoutPort;
    }
    return this.fallback;
  }

  private findSpecific(host: string): T | null {
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    for (const level of this.suffixes) {
      if (host.length <= level.length) continue;
      const v = level.byPart.get(host.slice(host.length - level.length));
      if (v !== undefined) return v;
    }
    for (const level of this.prefixes) {
      if (host.length <= level.length) continue;
      const v = level.byPart.get(host.slice(0, level.length));
      if (v !== undefined) return v;
    }
    return null;
  }
}

function addWildcard<T>(levels: WildcardLevel<T>[], part: string, value: T): void {
  let level = levels.find((l) => l.length === part.length);
  if (level === undefined) {
    level = { length: part.length, byPart: new Map() };
    levels.push(level);
  }
  if (!level.byPart.has(part)) level.byPart.set(part, value);
}

/** Index of the ':' before a port, or -1 ("[::1]:80" → 5; "[::1]" and "::1" → -1). */
export function portColon(authority: string): number {
  const colon = authority.lastIndexOf(':');
  if (colon === -1) return -1;
  if (authority.charCodeAt(0) === 91 /* '[' */) return authority.lastIndexOf(']') === colon - 1 ? colon : -1;
  return authority.indexOf(':') === colon ? colon : -1; // more than one ':' without brackets: a bare IPv6, no port
}
