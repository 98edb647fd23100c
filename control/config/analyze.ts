// Checks across resources, after each parsed on its own: what a file-by-file
// parse cannot see (a route to a subset no DestinationRule defines, two
// resources claiming one host, one name used twice). In the spirit of
// go-control-plane's Consistent() and Istio's `istioctl analyze`; each
// problem points at the line of the field at fault.

import type { ConfigProblem } from '../../src/config/config-error.js';
import {
  MESH_GATEWAY, type DestinationRule, type Destination, type Gateway, type IstioResource, type ServiceEntry, type TrafficPolicy,
  type VirtualService,
} from './istio-types.js';
import { hostConflicts, IST0109 } from './virtual-service-precedence.js';
import { checkMtlsConflicts } from './analyze-mtls.js';
import { buildPolicyConfig } from '../mixer/policy-config.js';

export type Severity = 'error' | 'warning';

export interface AnalysisProblem {
  readonly file: string;
  readonly line: number | null;
  readonly severity: Severity;
  readonly message: string;
}

/** `reviews.yaml:14: message`, or `reviews.yaml:14: warning: message`. */
export function formatAnalysisProblem(p: AnalysisProblem): string {
  const where = p.line === null ? p.file : `${p.file}:${p.line}`;
  return `${where}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}

/** Parse problems are errors. */
export function fromConfigProblem(p: ConfigProblem): AnalysisProblem {
  return { file: p.file, line: p.line, severity: 'error', message: p.message };
}

function lineOf(r: IstioResource, path: string): number {
  return r.source.fieldLines[path] ?? r.source.line;
}

function id(r: IstioResource): string {
  return `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`;
}

function at(r: IstioResource): string {
  return `${r.source.file}:${r.source.line}`;
}

class Findings {
  readonly list: AnalysisProblem[] = [];

  add(r: IstioResource, path: string, severity: Severity, message: string): void {
    this.list.push({ file: r.source.file, line: lineOf(r, path), severity, message });
  }
}

function checkDuplicateNames(resources: readonly IstioResource[], out: Findings): void {
  const first = new Map<string, IstioResource>();
  for (const r of resources) {
    const key = `${r.kind}\0${r.metadata.namespace}\0${r.metadata.name}`;
    const prior = first.get(key);
    if (prior === undefined) first.set(key, r);
    else out.add(r, 'metadata.name', 'error', `${id(r)} is defined twice (also at ${at(prior)})`);
  }
}

/** Whether a host pattern (exact, or `*.suffix`) covers a name. */
function hostCovers(pattern: string, name: string): boolean {
  return pattern === name || (pattern.startsWith('*.') && name.endsWith(pattern.slice(1)));
}

/** Two ServiceEntries (or one, twice) claiming a host: which endpoints serve it would be ambiguous. */
function checkServiceEntryHosts(entries: readonly ServiceEntry[], out: Findings): void {
  const owner = new Map<string, ServiceEntry>();
  for (const se of entries) {
    se.spec.hosts.forEach((h, i) => {
      const prior = owner.get(h.fqdn);
      if (prior === se) out.add(se, `spec.hosts[${i}]`, 'error', `spec.hosts[${i}] repeats host ${h.fqdn}`);
      else if (prior !== undefined) {
        out.add(se, `spec.hosts[${i}]`, 'error', `spec.hosts[${i}] ${h.fqdn} is also defined by ${id(prior)} (${at(prior)}); a host belongs to one ServiceEntry`);
      } else owner.set(h.fqdn, se);
    });
  }
}

function checkDestinationRuleHosts(rules: readonly DestinationRule[], entries: readonly ServiceEntry[], out: Findings): void {
  const owner = new Map<string, DestinationRule>();
  for (const dr of rules) {
    const fqdn = dr.spec.host.fqdn;
    const prior = owner.get(fqdn);
    if (prior !== undefined) {
      out.add(dr, 'spec.host', 'error', `spec.host ${fqdn} is also configured by ${id(prior)} (${at(prior)}); merge them into one DestinationRule`);
    } else owner.set(fqdn, dr);
    if (!fqdn.startsWith('*.') && !isDefined(fqdn, entries)) {
      out.add(dr, 'spec.host', 'warning', `spec.host ${fqdn} is not defined by any ServiceEntry (IST0101 ReferencedResourceNotFound; a proxy registering for it would define it)`);
    }
  }
}

/**
 * Two mesh VirtualServices for one host: Istio accepts both, routes the host by one (the order is
 * virtual-service-precedence.ts's, which the translation uses too) and `istioctl analyze` reports
 * IST0109 at level Error on the other.
 */
function checkVirtualServiceHosts(services: readonly VirtualService[], out: Findings): void {
  // On both, as istioctl does: whoever applied either one sees it.
  const fix = `${IST0109}: the VirtualService served longest, then the first by namespace and name, routes a host; merge them into one, or give each its own hosts`;
  for (const c of hostConflicts(services)) {
    out.add(c.ignored, `spec.hosts[${c.index}]`, 'error', `spec.hosts[${c.index}] ${c.host} is also routed by ${id(c.used)} (${at(c.used)}), `
      + `which is used for it; this VirtualService is ignored for that host (${fix})`);
    out.add(c.used, `spec.hosts[${c.usedIndex}]`, 'error', `spec.hosts[${c.usedIndex}] ${c.host} is also routed by ${id(c.ignored)} (${at(c.ignored)}), `
      + `which is ignored for it; this VirtualService is used for that host (${fix})`);
  }
}

function isDefined(fqdn: string, entries: readonly ServiceEntry[]): boolean {
  return entries.some((se) => se.spec.hosts.some((h) => hostCovers(h.fqdn, fqdn)));
}

/** The DestinationRule for a host: an exact host wins over a wildcard, the longest wildcard over shorter ones. */
function ruleFor(fqdn: string, rules: readonly DestinationRule[]): DestinationRule | undefined {
  let best: DestinationRule | undefined;
  for (const dr of rules) {
    const host = dr.spec.host.fqdn;
    if (!hostCovers(host, fqdn)) continue;
    if (host === fqdn) return dr;
    if (best === undefined || host.length > best.spec.host.fqdn.length) best = dr;
  }
  return best;
}

function checkDestination(
  vs: VirtualService, path: string, d: Destination, entries: readonly ServiceEntry[], rules: readonly DestinationRule[], out: Findings,
): void {
  const fqdn = d.host.fqdn;
  if (!isDefined(fqdn, entries)) {
    out.add(vs, `${path}.host`, 'warning',
      `${path}.host "${d.host.written}" (${fqdn}) is not defined by any ServiceEntry (IST0101 ReferencedResourceNotFound; a proxy registering for it would define it)`);
  }
  if (d.subset === undefined) return;
  const rule = ruleFor(fqdn, rules);
  if (rule === undefined) {
    out.add(vs, path, 'error', `${path}.subset "${d.subset}" is not defined: no DestinationRule has host ${fqdn}`);
  } else if (!rule.spec.subsets.some((s) => s.name === d.subset)) {
    const names = rule.spec.subsets.map((s) => s.name).join(', ') || 'none';
    out.add(vs, path, 'error', `${path}.subset "${d.subset}" is not defined by ${id(rule)} (${at(rule)}; its subsets: ${names})`);
  }
}

function checkRoutes(vs: VirtualService, entries: readonly ServiceEntry[], rules: readonly DestinationRule[], out: Findings): void {
  vs.spec.http.forEach((rule, i) => {
    rule.route.forEach((rd, j) => checkDestination(vs, `spec.http[${i}].route[${j}].destination`, rd.destination, entries, rules, out));
    if (rule.mirror !== undefined) checkDestination(vs, `spec.http[${i}].mirror`, rule.mirror, entries, rules, out);
    if (rule.route.length > 1) {
      const total = rule.route.reduce((sum, rd) => sum + rd.weight, 0);
      if (total !== 100) {
        const weights = rule.route.map((rd) => rd.weight).join(' + ');
        out.add(vs, `spec.http[${i}].route[0].destination`, 'error', `spec.http[${i}].route weights sum to ${total} (${weights}), not 100`);
      }
    }
  });
  vs.spec.tcp.forEach((rule, i) => rule.route.forEach((rd, j) => checkDestination(vs, `spec.tcp[${i}].route[${j}].destination`, rd.destination, entries, rules, out)));
  vs.spec.tls.forEach((rule, i) => rule.route.forEach((rd, j) => checkDestination(vs, `spec.tls[${i}].route[${j}].destination`, rd.destination, entries, rules, out)));
}

/**
 * A port whose protocol neither `protocol`, `appProtocol` nor its name says is sniffed per connection (Istio's
 * IST0118 PortNameIsNotUnderNamingConvention): it works, but a server-first protocol waits for the timeout.
 */
function checkUnnamedPorts(entries: readonly ServiceEntry[], out: Findings): void {
  for (const se of entries) {
    se.spec.ports.forEach((p, i) => {
      if (p.protocol !== 'UNKNOWN') return;
      out.add(se, `spec.ports[${i}]`, 'warning', `spec.ports[${i}] (${p.number}, "${p.name}") declares no protocol: set protocol, appProtocol, `
        + `or a name like "http-${p.name}" / "tcp-${p.name}"; until then the sidecar sniffs each connection (IST0118 PortNameIsNotUnderNamingConvention)`);
    });
  }
}

function gatewayHostCovers(serverHost: string, vsHost: string): boolean {
  return serverHost === '*' || vsHost === '*' || hostCovers(serverHost, vsHost) || hostCovers(vsHost, serverHost);
}

/**
 * A VirtualService bound to a Gateway no resource defines (istioctl: IST0101 ReferencedResourceNotFound), or whose
 * hosts none of that Gateway's servers expose to its namespace (IST0132 VirtualServiceHostNotFoundInGateway).
 */
function checkGatewayBindings(vs: VirtualService, gateways: readonly Gateway[], out: Findings): void {
  vs.spec.gateways.forEach((name, i) => {
    if (name === MESH_GATEWAY) return;
    const path = `spec.gateways[${i}]`;
    const gateway = gateways.find((g) => `${g.metadata.namespace}/${g.metadata.name}` === name);
    if (gateway === undefined) {
      const known = gateways.map((g) => `${g.metadata.namespace}/${g.metadata.name}`).join(', ') || 'none';
      out.add(vs, path, 'error', `${path} names Gateway ${name}, which no resource defines (IST0101 ReferencedResourceNotFound; Gateways: ${known})`);
      return;
    }
    const exposed = vs.spec.hosts.some((h) => gateway.spec.servers.some((server) => server.hosts.some((sh) =>
      (sh.namespace === '*' || sh.namespace === vs.metadata.namespace) && gatewayHostCovers(sh.dnsName, h.fqdn))));
    if (!exposed) {
      out.add(vs, path, 'warning', `${path}: no server of ${id(gateway)} (${at(gateway)}) exposes any of this VirtualService's hosts to namespace `
        + `${vs.metadata.namespace} (IST0132 VirtualServiceHostNotFoundInGateway); its routes are not used there`);
    }
  });
}

/** TLS origination without a CA to check the server against: the connection is encrypted but the server is not verified. */
function checkOriginationTls(dr: DestinationRule, out: Findings): void {
  const policies: { policy: TrafficPolicy | undefined; where: string }[] = [
    { policy: dr.spec.trafficPolicy, where: 'spec.trafficPolicy' },
    ...dr.spec.subsets.map((s, i) => ({ policy: s.trafficPolicy, where: `spec.subsets[${i}].trafficPolicy` })),
  ];
  for (const { policy, where } of policies) {
    const tlsList = [
      { tls: policy?.tls, path: `${where}.tls` },
      ...(policy?.portLevelSettings ?? []).map((p, i) => ({ tls: p.tls, path: `${where}.portLevelSettings[${i}].tls` })),
    ];
    for (const { tls, path } of tlsList) {
      if (tls === undefined || (tls.mode !== 'SIMPLE' && tls.mode !== 'MUTUAL') || (tls.caCertificates !== undefined && tls.insecureSkipVerify !== true)) continue;
      out.add(dr, 'spec.host', 'warning', `${path}: mode ${tls.mode} without caCertificates${tls.insecureSkipVerify === true ? ' (insecureSkipVerify)' : ''} `
        + 'encrypts but does not verify the server\'s certificate; set caCertificates (a PEM file of the CAs to trust)');
    }
  }
}

/** Takes every resource of a mesh; returns the problems between them, sorted by file and line. */
export function analyzeResources(resources: readonly IstioResource[], rootNamespace = 'istio-system'): AnalysisProblem[] {
  const out = new Findings();
  const entries = resources.filter((r): r is ServiceEntry => r.kind === 'ServiceEntry');
  const rules = resources.filter((r): r is DestinationRule => r.kind === 'DestinationRule');
  const services = resources.filter((r): r is VirtualService => r.kind === 'VirtualService');
  checkDuplicateNames(resources, out);
  checkServiceEntryHosts(entries, out);
  checkUnnamedPorts(entries, out);
  checkDestinationRuleHosts(rules, entries, out);
  checkVirtualServiceHosts(services, out);
  const gateways = resources.filter((r): r is Gateway => r.kind === 'Gateway');
  for (const vs of services) checkRoutes(vs, entries, rules, out);
  for (const vs of services) checkGatewayBindings(vs, gateways, out);
  for (const dr of rules) checkOriginationTls(dr, out);
  for (const f of checkMtlsConflicts(resources, rootNamespace)) out.add(f.resource, 'spec.host', 'warning', f.message);
  // Mixer rules naming handlers/instances that are not there (or take another template).
  for (const f of buildPolicyConfig(resources).findings) out.add(f.resource, f.path, f.severity, f.message);
  return sortAnalysisProblems(out.list);
}

export function sortAnalysisProblems(problems: readonly AnalysisProblem[]): AnalysisProblem[] {
  return problems.map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.file < b.p.file ? -1 : a.p.file > b.p.file ? 1 : 0) || (a.p.line ?? 0) - (b.p.line ?? 0) || a.i - b.i)
    .map((x) => x.p);
}
