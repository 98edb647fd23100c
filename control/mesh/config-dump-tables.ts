// `isthmus proxy-config` tables, istioctl-style, from what a proxy was sent
// (the resources of /debug/config_dump?proxy=ID, as the translation built
// them: Envoy v3 objects with snake_case fields).
import { parseOutboundClusterName } from '../translate/cluster-name.js';
import { formatTable } from './admin-get.js';

type Json = Record<string, any>;

function clusterRows(resources: readonly Json[]): string[][] {
  const rows = [['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'LB']];
  for (const c of resources) {
    const name = String(c.name);
    const key = parseOutboundClusterName(name);
    const parts = name.split('|');
    const direction = key !== undefined ? 'outbound' : parts[0] === 'inbound' ? 'inbound' : '-';
    rows.push([
      key?.host ?? (direction === 'inbound' ? '' : name), key !== undefined ? String(key.port) : (parts[1] ?? '-'),
      key?.subset || '-', direction, String(c.type ?? '-'), String(c.lb_policy ?? 'ROUND_ROBIN'),
    ]);
  }
  return rows;
}

function endpointRows(resources: readonly Json[]): string[][] {
  const rows = [['ENDPOINT', 'WEIGHT', 'CLUSTER']];
  for (const cla of resources) {
    const groups: Json[] = cla.endpoints ?? [];
    if (groups.every((g) => (g.lb_endpoints ?? []).length === 0)) rows.push(['(none)', '-', String(cla.cluster_name)]);
    for (const g of groups) {
      for (const e of (g.lb_endpoints ?? []) as Json[]) {
        const a = e.endpoint?.address?.socket_address ?? {};
        rows.push([`${a.address}:${a.port_value}`, String(e.load_balancing_weight?.value ?? 1), String(cla.cluster_name)]);
      }
    }
  }
  return rows;
}

function routeNamesOf(listener: Json): string {
  const names: string[] = [];
  for (const chain of (listener.filter_chains ?? []) as Json[]) {
    for (const filter of (chain.filters ?? []) as Json[]) {
      const hcm = filter.typed_config ?? {};
      if (hcm.rds?.route_config_name !== undefined) names.push(`RDS ${hcm.rds.route_config_name}`);
      else if (hcm.route_config?.name !== undefined) names.push(`inline ${hcm.route_config.name}`);
    }
  }
  return names.join(', ') || '-';
}

function listenerRows(resources: readonly Json[]): string[][] {
  const rows = [['NAME', 'ADDRESS', 'PORT', 'ROUTES']];
  for (const l of resources) {
    const a = l.address?.socket_address ?? {};
    rows.push([String(l.name), String(a.address ?? '-'), String(a.port_value ?? '-'), routeNamesOf(l)]);
  }
  return rows;
}

function matchOf(match: Json | undefined): string {
  if (match === undefined) return '-';
  const path = match.prefix !== undefined ? `${match.prefix}*` : match.path ?? match.safe_regex?.regex ?? '/*';
  const extra = (match.headers ?? []).length > 0 ? ` +${match.headers.length} header(s)` : '';
  return `${path}${extra}`;
}

function actionOf(route: Json): string {
  if (route.route?.cluster !== undefined) return String(route.route.cluster);
  const weighted = route.route?.weighted_clusters?.clusters as Json[] | undefined;
  if (weighted !== undefined) return weighted.map((w) => `${w.name} ${w.weight?.value ?? w.weight}`).join(', ');
  if (route.redirect !== undefined) return 'redirect';
  if (route.direct_response !== undefined) return `direct response ${route.direct_response.status}`;
  return '-';
}

function routeRows(resources: readonly Json[]): string[][] {
  const rows = [['NAME', 'VHOST', 'DOMAINS', 'MATCH', 'ROUTE', 'DESTINATION']];
  for (const rc of resources) {
    for (const vh of (rc.virtual_hosts ?? []) as Json[]) {
      const domains = (vh.domains ?? []) as string[];
      const shown = domains.length > 2 ? `${domains[0]} +${domains.length - 1} more` : domains.join(', ');
      for (const r of (vh.routes ?? []) as Json[]) rows.push([String(rc.name), String(vh.name), shown, matchOf(r.match), String(r.name ?? '-'), actionOf(r)]);
    }
  }
  return rows;
}

export const SECTIONS = ['clusters', 'endpoints', 'listeners', 'routes'] as const;
export type Section = (typeof SECTIONS)[number];

const ROWS: Readonly<Record<Section, (resources: readonly Json[]) => string[][]>> = {
  clusters: clusterRows,
  endpoints: endpointRows,
  listeners: listenerRows,
  routes: routeRows,
};

export function formatSection(section: Section, resources: readonly object[]): string {
  return formatTable(ROWS[section](resources as Json[]));
}
