// Gateway spec (networking.istio.io): which gateway proxies it configures
// (`selector` against the labels a `--router` proxy announces) and its
// servers: a port with a protocol, the hosts it exposes (`namespace/dnsName`,
// the namespace limiting which VirtualServices may bind) and TLS (SIMPLE or
// MUTUAL termination with certificate files, PASSTHROUGH, or a plain server's
// httpsRedirect). Kubernetes secrets (credentialName) are not in the subset.

import type { ObjectReader, ValueReader } from '../../src/config/yaml-reader.js';
import { hostNameProblem, readLabels, readRequiredList, readStringList, type SpecContext } from './istio-fields.js';
import type { GatewayHost, GatewayProtocol, GatewayServer, GatewaySpec, ServerTlsSettings } from './istio-types.js';

const PROTOCOLS: readonly GatewayProtocol[] = ['HTTP', 'HTTPS', 'HTTP2', 'GRPC', 'TLS', 'TCP'];
const PORT_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;
const NAMESPACE = /^(\*|\.|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/;
const TLS_VERSIONS = ['TLSV1_2', 'TLSV1_3'] as const;

/** `namespace/dnsName` or `dnsName` (any namespace); "." is the Gateway's namespace. */
function readGatewayHost(item: ValueReader, cx: SpecContext): GatewayHost | undefined {
  const written = item.nonEmptyString();
  if (written === undefined) return undefined;
  const slash = written.indexOf('/');
  const namespace = slash < 0 ? '*' : written.slice(0, slash);
  const dnsName = (slash < 0 ? written : written.slice(slash + 1)).toLowerCase();
  if (!NAMESPACE.test(namespace)) {
    item.problem(`has a namespace that is not ".", "*" or a namespace name: "${written}"`);
    return undefined;
  }
  const problem = hostNameProblem(dnsName, true);
  if (problem !== null) {
    item.problem(`${problem} (in "${written}")`);
    return undefined;
  }
  return { written, namespace: namespace === '.' ? cx.namespace : namespace, dnsName };
}

function optionalPath(obj: ObjectReader, name: string): string | undefined {
  const f = obj.field(name);
  return f.missing ? undefined : f.nonEmptyString();
}

function readServerTls(v: ValueReader, protocol: GatewayProtocol | undefined): ServerTlsSettings | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const httpsRedirect = obj.field('httpsRedirect').bool() ?? false;
  const modeField = obj.field('mode');
  const modeText = modeField.missing ? undefined : modeField.string();
  let mode: ServerTlsSettings['mode'];
  if (modeText === 'ISTIO_MUTUAL' || modeText === 'AUTO_PASSTHROUGH' || modeText === 'OPTIONAL_MUTUAL') {
    modeField.problem(`${modeText} is not supported yet (it needs mesh identities or multi-cluster routing); use SIMPLE, MUTUAL or PASSTHROUGH`);
  } else if (modeText !== undefined) {
    mode = modeField.enumOf(['SIMPLE', 'MUTUAL', 'PASSTHROUGH'] as const);
  }
  const credential = obj.field('credentialName');
  if (!credential.missing) credential.problem('(a Kubernetes secret) is not supported: give serverCertificate and privateKey as file paths');
  for (const name of ['credentialNames', 'tlsCertificates', 'verifyCertificateSpki', 'verifyCertificateHash', 'cipherSuites', 'caCrl']) {
    const f = obj.field(name);
    if (!f.missing) f.problem('is not supported');
  }
  const serverCertificate = optionalPath(obj, 'serverCertificate');
  const privateKey = optionalPath(obj, 'privateKey');
  const caCertificates = optionalPath(obj, 'caCertificates');
  const subjectAltNames = readStringList(obj.field('subjectAltNames'));
  const minField = obj.field('minProtocolVersion');
  const minProtocolVersion = minField.missing ? undefined : minField.enumOf(TLS_VERSIONS);
  const maxField = obj.field('maxProtocolVersion');
  const maxProtocolVersion = maxField.missing ? undefined : maxField.enumOf(TLS_VERSIONS);
  if (mode === 'SIMPLE' || mode === 'MUTUAL') {
    if (serverCertificate === undefined) obj.field('serverCertificate').problem(`is required with mode ${mode}`);
    if (privateKey === undefined) obj.field('privateKey').problem(`is required with mode ${mode}`);
    if (mode === 'MUTUAL' && caCertificates === undefined) obj.field('caCertificates').problem('is required with mode MUTUAL (the CA that signs client certificates)');
  }
  if (mode !== undefined && protocol !== undefined && protocol !== 'HTTPS' && protocol !== 'TLS') {
    modeField.problem(`needs port protocol HTTPS or TLS (the port is ${protocol})`);
  }
  if (mode === undefined && (protocol === 'HTTPS' || protocol === 'TLS')) v.problem(`must set mode for a ${protocol} port`);
  obj.done();
  return {
    httpsRedirect,
    ...(mode !== undefined ? { mode } : {}),
    ...(serverCertificate !== undefined ? { serverCertificate } : {}),
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(caCertificates !== undefined ? { caCertificates } : {}),
    subjectAltNames,
    ...(minProtocolVersion !== undefined ? { minProtocolVersion } : {}),
    ...(maxProtocolVersion !== undefined ? { maxProtocolVersion } : {}),
  };
}

function readServer(v: ValueReader, cx: SpecContext): GatewayServer | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const portField = obj.field('port');
  portField.require();
  const port = portField.object();
  let number: number | undefined;
  let name: string | undefined;
  let protocol: GatewayProtocol | undefined;
  if (port !== undefined) {
    const numberField = port.field('number');
    numberField.require();
    number = numberField.integer(1, 65535);
    const nameField = port.field('name');
    name = nameField.missing ? '' : nameField.nonEmptyString();
    if (name !== undefined && name !== '' && !PORT_NAME.test(name)) {
      nameField.problem(`must be letters, digits and '-': "${name}"`);
      name = undefined;
    }
    const protocolField = port.field('protocol');
    protocolField.require();
    const written = protocolField.string();
    protocol = PROTOCOLS.find((p) => p === written?.toUpperCase());
    if (written !== undefined && protocol === undefined) protocolField.problem(`must be one of ${PROTOCOLS.join(', ')} (got "${written}")`);
    const target = port.field('targetPort');
    if (!target.missing) target.problem('is not supported (a gateway proxy listens on port.number)');
    port.done();
  }
  const hosts = readRequiredList(obj.field('hosts'), 'host').map((h) => readGatewayHost(h, cx));
  const tlsField = obj.field('tls');
  const tls = tlsField.missing ? undefined : readServerTls(tlsField, protocol);
  if (tlsField.missing && (protocol === 'HTTPS' || protocol === 'TLS')) {
    tlsField.problem(`is required for a ${protocol} port (mode SIMPLE, MUTUAL or PASSTHROUGH)`);
  }
  const serverName = obj.field('name').string() ?? '';
  const bind = obj.field('bind');
  if (!bind.missing) bind.problem('is not supported (a gateway proxy listens on its --workload-address)');
  const defaultEndpoint = obj.field('defaultEndpoint');
  if (!defaultEndpoint.missing) defaultEndpoint.problem('is not supported (it applies to Sidecar ingress, not Gateways)');
  obj.done();
  if (number === undefined || name === undefined || protocol === undefined || hosts.includes(undefined)) return undefined;
  if (!tlsField.missing && tls === undefined) return undefined;
  return {
    port: { number, name, protocol },
    hosts: hosts as GatewayHost[],
    ...(tls !== undefined ? { tls } : {}),
    name: serverName,
  };
}

export function readGatewaySpec(v: ValueReader, cx: SpecContext): GatewaySpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const selector = readLabels(obj.field('selector'));
  const servers = readRequiredList(obj.field('servers'), 'server').map((s) => readServer(s, cx));
  // Istio: two servers on one port must not expose the same host (which would take it is undefined).
  const seen = new Map<string, number>();
  servers.forEach((s, i) => {
    if (s === undefined) return;
    for (const h of s.hosts) {
      const key = `${s.port.number}|${h.namespace}/${h.dnsName}`;
      const prior = seen.get(key);
      if (prior !== undefined && prior !== i) obj.field('servers').problem(`servers[${i}] repeats host "${h.written}" on port ${s.port.number} (also in servers[${prior}])`);
      seen.set(key, i);
    }
  });
  obj.done();
  if (servers.includes(undefined)) return undefined;
  return { selector, servers: servers as GatewayServer[] };
}
