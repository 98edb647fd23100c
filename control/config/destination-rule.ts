// DestinationRule spec: the host it configures, its subsets (by labels) and
// the traffic policy (load balancer, connection pool, outlier detection, TLS
// mode) for the host and per subset.

import { LOCALITY_PART } from '../../src/xds/locality.js';
import type { ObjectReader, ValueReader } from '../../src/config/yaml-reader.js';
import { markLine, readDnsLabel, readDurationMs, readHost, readLabels, readStringList, type SpecContext } from './istio-fields.js';
import type {
  ClientTlsSettings, ConnectionPoolSettings, ConsistentHash, PortTrafficPolicy, DestinationRuleSpec, LoadBalancerSettings, LocalityLbSetting, OutlierDetection, Subset, TrafficPolicy,
} from './istio-types.js';

const INT32_MAX = 2_147_483_647;
/** Envoy's largest ring (RingHashLbConfig.minimum_ring_size is at most 8M). */
const MAX_RING_SIZE = 8_388_608;
const HEADER_NAME = /^[-_A-Za-z0-9]+$/;

function readConsistentHash(v: ValueReader): ConsistentHash | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const by = obj.oneOf(['httpHeaderName', 'httpCookie', 'useSourceIp'] as const, true);
  let result: ConsistentHash | undefined;
  if (by === 'httpHeaderName') {
    const f = obj.field('httpHeaderName');
    const name = f.nonEmptyString();
    if (name !== undefined && !HEADER_NAME.test(name)) f.problem(`is not a valid header name: "${name}"`);
    else if (name !== undefined) result = { by, httpHeaderName: name.toLowerCase() };
  } else if (by === 'httpCookie') {
    const cookie = obj.field('httpCookie').object();
    if (cookie !== undefined) {
      const nameField = cookie.field('name');
      nameField.require();
      const name = nameField.nonEmptyString();
      const ttlField = cookie.field('ttl');
      ttlField.require();
      const ttlMs = ttlField.missing ? undefined : readDurationMs(ttlField, true);
      cookie.done();
      if (name !== undefined && ttlMs !== undefined) result = { by, name, ttlMs };
    }
  } else if (by === 'useSourceIp') {
    const f = obj.field('useSourceIp');
    const on = f.bool();
    if (on === false) f.problem('must be true (remove consistentHash to hash on nothing)');
    else if (on === true) result = { by };
  }
  // Deprecated in Istio for ringHash.minimumRingSize, yet still honoured and written; 0 means Envoy's default.
  const ringField = obj.field('minimumRingSize');
  const minimumRingSize = ringField.integer(0, MAX_RING_SIZE);
  obj.done();
  if (minimumRingSize === undefined && !ringField.missing) return undefined;
  return result === undefined || minimumRingSize === undefined || minimumRingSize === 0 ? result : { ...result, minimumRingSize };
}

function readRegion(v: ValueReader): string | undefined {
  v.require();
  const region = v.nonEmptyString();
  if (region !== undefined && !LOCALITY_PART.test(region)) {
    v.problem(`must be a region name (failover is region to region, as in Istio), got "${region}"`);
    return undefined;
  }
  return region;
}

function readLocalityLbSetting(v: ValueReader): LocalityLbSetting | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const enabled = obj.field('enabled').bool() ?? true;
  const failover: { from: string; to: string }[] = [];
  let ok = true;
  for (const item of obj.field('failover').list()) {
    const f = item.object();
    if (f === undefined) {
      ok = false;
      continue;
    }
    const from = readRegion(f.field('from'));
    const to = readRegion(f.field('to'));
    f.done();
    if (from === undefined || to === undefined) ok = false;
    else failover.push({ from, to });
  }
  obj.done();
  return ok ? { enabled, failover } : undefined;
}

function readLoadBalancer(v: ValueReader): { settings?: LoadBalancerSettings; locality?: LocalityLbSetting } | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const localityField = obj.field('localityLbSetting');
  const locality = localityField.missing ? undefined : readLocalityLbSetting(localityField);
  const which = obj.oneOf(['simple', 'consistentHash'] as const, localityField.missing);
  let result: LoadBalancerSettings | undefined;
  if (which === 'simple') {
    const simple = obj.field('simple').enumOf(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM'] as const);
    if (simple !== undefined) result = { type: 'simple', simple };
  } else if (which === 'consistentHash') {
    const consistentHash = readConsistentHash(obj.field('consistentHash'));
    if (consistentHash !== undefined) result = { type: 'consistentHash', consistentHash };
  }
  obj.done();
  if (!localityField.missing && locality === undefined) return undefined;
  if (which !== undefined && result === undefined) return undefined;
  return { ...(result !== undefined ? { settings: result } : {}), ...(locality !== undefined ? { locality } : {}) };
}

/** Sets out[key] from an optional integer field. */
function optionalInt<T extends object>(obj: ObjectReader, name: keyof T & string, min: number, max: number, out: Partial<T>): void {
  const value = obj.field(name).integer(min, max);
  if (value !== undefined) (out as Record<string, number>)[name] = value;
}

function optionalDuration<T extends object>(obj: ObjectReader, name: string, key: keyof T & string, out: Partial<T>): void {
  const f = obj.field(name);
  const value = f.missing ? undefined : readDurationMs(f);
  if (value !== undefined) (out as Record<string, number>)[key] = value;
}

function readConnectionPool(v: ValueReader): ConnectionPoolSettings | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const out: { tcp?: ConnectionPoolSettings['tcp']; http?: ConnectionPoolSettings['http'] } = {};
  const tcp = obj.field('tcp').object();
  if (tcp !== undefined) {
    const t: NonNullable<ConnectionPoolSettings['tcp']> = {};
    optionalInt(tcp, 'maxConnections', 1, INT32_MAX, t);
    optionalDuration(tcp, 'connectTimeout', 'connectTimeoutMs', t);
    tcp.done();
    out.tcp = t;
  }
  const http = obj.field('http').object();
  if (http !== undefined) {
    const h: NonNullable<ConnectionPoolSettings['http']> = {};
    optionalInt(http, 'http1MaxPendingRequests', 1, INT32_MAX, h);
    optionalInt(http, 'http2MaxRequests', 1, INT32_MAX, h);
    optionalInt(http, 'maxRetries', 0, INT32_MAX, h);
    optionalInt(http, 'maxRequestsPerConnection', 0, INT32_MAX, h);
    optionalDuration(http, 'idleTimeout', 'idleTimeoutMs', h);
    const clientProtocol = http.field('useClientProtocol');
    if (!clientProtocol.missing) {
      const use = clientProtocol.bool();
      if (use !== undefined) (h as { useClientProtocol?: boolean }).useClientProtocol = use;
    }
    const upgrade = http.field('h2UpgradePolicy');
    if (!upgrade.missing) {
      const policy = upgrade.enumOf(['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'] as const);
      if (policy !== undefined) (h as { h2UpgradePolicy?: string }).h2UpgradePolicy = policy;
    }
    http.done();
    out.http = h;
  }
  obj.done();
  return out;
}

function readOutlierDetection(v: ValueReader): OutlierDetection | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const out: Partial<OutlierDetection> = {};
  optionalInt<OutlierDetection>(obj, 'consecutive5xxErrors', 0, INT32_MAX, out);
  optionalInt<OutlierDetection>(obj, 'consecutiveGatewayErrors', 0, INT32_MAX, out);
  optionalDuration<OutlierDetection>(obj, 'interval', 'intervalMs', out);
  optionalDuration<OutlierDetection>(obj, 'baseEjectionTime', 'baseEjectionTimeMs', out);
  optionalInt<OutlierDetection>(obj, 'maxEjectionPercent', 0, 100, out);
  obj.done();
  return out;
}

type MutablePolicy = { -readonly [K in keyof TrafficPolicy]: TrafficPolicy[K] };

/** The fields a trafficPolicy and one of its portLevelSettings share, read from obj into out. */
function readPolicyFields(obj: ObjectReader, out: MutablePolicy): void {
  const lb = obj.field('loadBalancer');
  if (!lb.missing) {
    const read = readLoadBalancer(lb);
    out.loadBalancer = read?.settings;
    out.localityLbSetting = read?.locality;
  }
  const pool = obj.field('connectionPool');
  if (!pool.missing) out.connectionPool = readConnectionPool(pool);
  const outlier = obj.field('outlierDetection');
  if (!outlier.missing) out.outlierDetection = readOutlierDetection(outlier);
  const tlsField = obj.field('tls');
  if (!tlsField.missing) out.tls = readClientTls(tlsField);
}

function dropUndefined(out: MutablePolicy): void {
  for (const key of Object.keys(out) as (keyof TrafficPolicy)[]) if (out[key] === undefined) delete out[key];
}

function readTrafficPolicy(v: ValueReader): TrafficPolicy | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const out: MutablePolicy = {};
  readPolicyFields(obj, out);
  const portsField = obj.field('portLevelSettings');
  if (!portsField.missing) out.portLevelSettings = readPortLevelSettings(portsField);
  obj.done();
  dropUndefined(out);
  return out;
}

const TLS_MODES = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] as const;

/** trafficPolicy.tls: TLS origination to the destination, certificates as file paths. */
function readClientTls(v: ValueReader): ClientTlsSettings | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const modeField = obj.field('mode');
  modeField.require();
  const mode = modeField.enumOf(TLS_MODES);
  const path = (name: string): string | undefined => {
    const f = obj.field(name);
    return f.missing ? undefined : f.nonEmptyString();
  };
  const clientCertificate = path('clientCertificate');
  const privateKey = path('privateKey');
  const caCertificates = path('caCertificates');
  const sni = path('sni');
  const subjectAltNames = readStringList(obj.field('subjectAltNames'));
  const insecureSkipVerify = obj.field('insecureSkipVerify').bool();
  const credential = obj.field('credentialName');
  if (!credential.missing) credential.problem('(a Kubernetes secret) is not supported: give clientCertificate, privateKey and caCertificates as file paths');
  const crl = obj.field('caCrl');
  if (!crl.missing) crl.problem('is not supported');
  if (mode === 'MUTUAL') {
    if (clientCertificate === undefined) obj.field('clientCertificate').problem('is required with mode MUTUAL');
    if (privateKey === undefined) obj.field('privateKey').problem('is required with mode MUTUAL');
  } else if (mode !== undefined && (clientCertificate !== undefined || privateKey !== undefined)) {
    (clientCertificate !== undefined ? obj.field('clientCertificate') : obj.field('privateKey')).problem(`is used only with mode MUTUAL (the mode is ${mode})`);
  }
  if (mode === 'ISTIO_MUTUAL' && (caCertificates !== undefined || sni !== undefined || subjectAltNames.length > 0)) {
    modeField.problem('ISTIO_MUTUAL takes its certificates from the mesh identity: remove caCertificates, sni and subjectAltNames');
  }
  obj.done();
  if (mode === undefined) return undefined;
  return {
    mode,
    ...(clientCertificate !== undefined ? { clientCertificate } : {}),
    ...(privateKey !== undefined ? { privateKey } : {}),
    ...(caCertificates !== undefined ? { caCertificates } : {}),
    subjectAltNames,
    ...(sni !== undefined ? { sni } : {}),
    ...(insecureSkipVerify !== undefined ? { insecureSkipVerify } : {}),
  };
}

/** trafficPolicy.portLevelSettings: a policy per destination port (each port once). */
function readPortLevelSettings(v: ValueReader): PortTrafficPolicy[] | undefined {
  const out: PortTrafficPolicy[] = [];
  let ok = true;
  for (const item of v.list()) {
    const obj = item.object();
    if (obj === undefined) {
      ok = false;
      continue;
    }
    const portField = obj.field('port');
    portField.require();
    const portObj = portField.object();
    let port: number | undefined;
    if (portObj !== undefined) {
      const numberField = portObj.field('number');
      numberField.require();
      port = numberField.integer(1, 65535);
      portObj.done();
    }
    const policy: MutablePolicy = {};
    readPolicyFields(obj, policy);
    obj.done();
    dropUndefined(policy);
    if (port === undefined) {
      ok = false;
      continue;
    }
    if (out.some((p) => p.port === port)) {
      portField.problem(`repeats port ${port}`);
      ok = false;
      continue;
    }
    out.push({ port, ...policy });
  }
  return ok ? out : undefined;
}

function readSubset(v: ValueReader, cx: SpecContext): Subset | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('name');
  nameField.require();
  const name = readDnsLabel(nameField);
  markLine(cx, nameField);
  const labelsField = obj.field('labels');
  const labels = readLabels(labelsField);
  const policyField = obj.field('trafficPolicy');
  const trafficPolicy = policyField.missing ? undefined : readTrafficPolicy(policyField);
  obj.done();
  if (name === undefined) return undefined;
  return { name, labels, ...(trafficPolicy !== undefined ? { trafficPolicy } : {}) };
}

export function readDestinationRuleSpec(v: ValueReader, cx: SpecContext): DestinationRuleSpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const hostField = obj.field('host');
  hostField.require();
  const host = readHost(hostField, cx, true);
  const policyField = obj.field('trafficPolicy');
  const trafficPolicy = policyField.missing ? undefined : readTrafficPolicy(policyField);
  const subsetItems = obj.field('subsets').list();
  const subsets = subsetItems.map((item) => readSubset(item, cx));
  const seen = new Set<string>();
  subsets.forEach((s, i) => {
    if (s !== undefined && seen.has(s.name)) subsetItems[i]!.problem(`repeats subset name "${s.name}"`);
    if (s !== undefined) seen.add(s.name);
  });
  obj.done();
  if (host === undefined || subsets.includes(undefined)) return undefined;
  return { host, ...(trafficPolicy !== undefined ? { trafficPolicy } : {}), subsets: subsets as Subset[] };
}
