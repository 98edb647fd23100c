// Istio's cluster names: `outbound|<port>|<subset>|<host>` (an empty subset is
// every endpoint of the host) and `inbound|<port>||` for the local app.

export interface OutboundClusterKey {
  readonly port: number;
  /** "" for all endpoints. */
  readonly subset: string;
  readonly host: string;
}

export function outboundClusterName(host: string, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${host}`;
}

export function inboundClusterName(port: number): string {
  return `inbound|${port}||`;
}

/** The parts of an outbound cluster name, or undefined for any other name. */
export function parseOutboundClusterName(name: string): OutboundClusterKey | undefined {
  const parts = name.split('|');
  if (parts.length !== 4 || parts[0] !== 'outbound' || parts[3] === '') return undefined;
  const port = Number(parts[1]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { port, subset: parts[2]!, host: parts[3]! };
}

/** The names among clusterNames that are outbound clusters of one of hosts (who needs an EDS push when those hosts' endpoints change). */
export function clustersOfHosts(clusterNames: Iterable<string>, hosts: Iterable<string>): string[] {
  const wanted = new Set(hosts);
  const out: string[] = [];
  for (const name of clusterNames) {
    const key = parseOutboundClusterName(name);
    if (key !== undefined && wanted.has(key.host)) out.push(name);
  }
  return out.sort();
}
