// ServiceEntry and WorkloadEntry specs: the services the mesh knows and the
// workloads that serve them (an endpoint of a ServiceEntry has the shape of a
// WorkloadEntry spec, as in Istio).

import { parseLocality } from '../../src/xds/locality.js';
import type { ObjectReader, ValueReader } from '../../src/config/yaml-reader.js';
import {
  isIpAddress, readFreeMap, readHost, readLabels, readRequiredList, readStringList, type SpecContext,
} from './istio-fields.js';
import { PORT_PROTOCOLS, protocolFromPortName, protocolNamed } from './port-protocol.js';
import type { HostName, Locality, PortProtocol, ServiceEntrySpec, ServicePort, WorkloadEntrySpec, WorkloadSelector } from './istio-types.js';

const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;
const MAX_UINT32 = 4_294_967_295;

export function readWorkloadSelector(v: ValueReader): WorkloadSelector | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const labelsField = obj.field('labels');
  const labels = readLabels(labelsField);
  obj.done();
  return { labels };
}

/** A protocol name (case-insensitive, as Istio reads it); undefined when absent or not one we know (reported). */
function readProtocol(field: ValueReader): PortProtocol | undefined {
  if (field.missing) return undefined;
  const written = field.string();
  if (written === undefined) return undefined;
  const protocol = protocolNamed(written);
  if (protocol === undefined) field.problem(`must be one of ${PORT_PROTOCOLS.join(', ')} (got "${written}")`);
  return protocol;
}

function readPort(v: ValueReader): ServicePort | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const numberField = obj.field('number');
  numberField.require();
  const number = numberField.integer(1, 65535);
  const nameField = obj.field('name');
  nameField.require();
  let name = nameField.nonEmptyString();
  if (name !== undefined && !PORT_NAME.test(name)) {
    nameField.problem(`must be letters, digits and '-': "${name}"`);
    name = undefined;
  }
  // Istio's protocol selection: `protocol`, else `appProtocol`, else the name's prefix, else UNKNOWN (sniffed).
  const protocol = readProtocol(obj.field('protocol')) ?? readProtocol(obj.field('appProtocol'))
    ?? (name === undefined ? undefined : protocolFromPortName(name) ?? 'UNKNOWN');
  obj.done();
  if (number === undefined || name === undefined || protocol === undefined) return undefined;
  return { number, name, protocol };
}

const CIDR = /^([^/]+)\/(\d{1,3})$/;

function checkAddress(item: ValueReader, text: string): string | undefined {
  const cidr = CIDR.exec(text);
  const ip = cidr === null ? text : cidr[1]!;
  const maxBits = ip.includes(':') ? 128 : 32;
  if (!isIpAddress(ip) || (cidr !== null && Number(cidr[2]) > maxBits)) {
    item.problem(`must be an IP address or CIDR block: "${text}"`);
    return undefined;
  }
  return text;
}

/** Istio's `region/zone/subzone` locality string; trailing parts may be left out. */
function readLocality(v: ValueReader): Locality | undefined {
  const text = v.nonEmptyString();
  if (text === undefined) return undefined;
  const locality = parseLocality(text);
  if (locality === null) v.problem(`must be region/zone/subzone (letters, digits, '-', '_', '.'), got "${text}"`);
  return locality ?? undefined;
}

/** A DNS name as an endpoint address of a resolution DNS / DNS_ROUND_ROBIN ServiceEntry. */
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$/i;

/** The fields a WorkloadEntry spec and a ServiceEntry endpoint share; `names`: the address may be a DNS name. */
export function readWorkloadEntryFields(obj: ObjectReader, names = false): WorkloadEntrySpec | undefined {
  const addressField = obj.field('address');
  addressField.require();
  let address = addressField.nonEmptyString();
  if (address !== undefined && !isIpAddress(address)) {
    if (!names) addressField.problem(`must be an IP address (a DNS name needs the ServiceEntry's resolution DNS or DNS_ROUND_ROBIN): "${address}"`);
    else if (!DNS_NAME.test(address)) addressField.problem(`must be an IP address or a DNS name: "${address}"`);
    if (!names || !DNS_NAME.test(address)) address = undefined;
  }
  const ports = readFreeMap(obj.field('ports'), (value) => value.integer(1, 65535));
  const labels = readLabels(obj.field('labels'));
  const serviceAccount = obj.field('serviceAccount').string() ?? '';
  const weightField = obj.field('weight');
  const weight = weightField.integer(1, MAX_UINT32);
  const localityField = obj.field('locality');
  const locality = localityField.missing ? undefined : readLocality(localityField);
  obj.done();
  if (address === undefined) return undefined;
  if (weight === undefined && !weightField.missing) return undefined;
  if (locality === undefined && !localityField.missing) return undefined;
  return { address, ports, labels, serviceAccount, weight: weight ?? 1, ...(locality !== undefined ? { locality } : {}) };
}

export function readWorkloadEntrySpec(v: ValueReader): WorkloadEntrySpec | undefined {
  const obj = v.object();
  return obj === undefined ? undefined : readWorkloadEntryFields(obj);
}

/** Port names must be unique (endpoints refer to them), and so must port numbers. */
function checkPorts(list: ValueReader[], ports: (ServicePort | undefined)[]): void {
  const names = new Set<string>();
  const numbers = new Set<number>();
  ports.forEach((p, i) => {
    if (p === undefined) return;
    if (names.has(p.name)) list[i]!.problem(`repeats port name "${p.name}"`);
    if (numbers.has(p.number)) list[i]!.problem(`repeats port number ${p.number}`);
    names.add(p.name);
    numbers.add(p.number);
  });
}

export function readServiceEntrySpec(v: ValueReader, cx: SpecContext): ServiceEntrySpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const hosts = readRequiredList(obj.field('hosts'), 'host').map((item) => readHost(item, cx, true));
  const addresses = readStringList(obj.field('addresses'), checkAddress);
  const portsField = obj.field('ports');
  portsField.require();
  const portItems = portsField.list();
  if (!portsField.missing && portItems.length === 0) portsField.problem('must list at least one port');
  const ports = portItems.map(readPort);
  checkPorts(portItems, ports);
  const location = obj.field('location').enumOf(['MESH_EXTERNAL', 'MESH_INTERNAL'] as const);
  const resolutionField = obj.field('resolution');
  const resolution = resolutionField.enumOf(['STATIC', 'NONE', 'DNS', 'DNS_ROUND_ROBIN'] as const);
  const dns = resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN';
  const endpointsField = obj.field('endpoints');
  const endpointItems = endpointsField.list();
  const endpoints = endpointItems.map((item) => {
    const ep = item.object();
    return ep === undefined ? undefined : readWorkloadEntryFields(ep, dns);
  });
  const selectorField = obj.field('workloadSelector');
  const workloadSelector = selectorField.missing ? undefined : readWorkloadSelector(selectorField);
  if (endpointItems.length > 0 && !selectorField.missing) selectorField.problem('cannot be used with endpoints (choose one)');
  if ((resolution ?? 'NONE') === 'NONE' && endpointItems.length > 0) {
    endpointsField.problem('are allowed only with resolution STATIC, DNS or DNS_ROUND_ROBIN');
  }
  // Istio's rules: a DNS_ROUND_ROBIN service has at most one endpoint; without endpoints each host is the name resolved.
  if (resolution === 'DNS_ROUND_ROBIN' && endpointItems.length > 1) {
    endpointsField.problem(`list ${endpointItems.length} endpoints; resolution DNS_ROUND_ROBIN takes at most one`);
  }
  if (dns && endpointItems.length === 0 && selectorField.missing) {
    obj.field('hosts').list().forEach((item, i) => {
      if (hosts[i]?.fqdn.includes('*') === true) item.problem(`is a wildcard; resolution ${resolution} needs endpoints to resolve a wildcard host`);
    });
  }
  if (dns && !selectorField.missing) selectorField.problem(`cannot be used with resolution ${resolution} (list the endpoints)`);
  const portNames = new Set(ports.flatMap((p) => (p === undefined ? [] : [p.name])));
  endpoints.forEach((ep, i) => {
    for (const name of Object.keys(ep?.ports ?? {})) {
      if (!portNames.has(name)) endpointItems[i]!.problem(`names port "${name}", which is not one of this ServiceEntry's ports`);
    }
  });
  obj.done();
  if (hosts.includes(undefined) || ports.includes(undefined) || endpoints.includes(undefined)) return undefined;
  return {
    hosts: hosts as HostName[],
    addresses,
    ports: ports as ServicePort[],
    location: location ?? 'MESH_EXTERNAL',
    resolution: resolution ?? 'NONE',
    endpoints: endpoints as WorkloadEntrySpec[],
    ...(workloadSelector !== undefined ? { workloadSelector } : {}),
  };
}
