// envoy.transport_sockets.tls: DownstreamTlsContext (a filter chain's TLS
// termination) and UpstreamTlsContext (a cluster's TLS origination). PEM
// files are read here, at config load, and every context is built once by
// the TLS engine so a bad certificate, key or trust bundle is reported at its
// field and the config is refused, never half-applied.
import { readFileSync } from 'node:fs';
import { tlsCreateContext, TLS_VERSION, type TlsContextConfig } from '../native.js';
import type { CommonTls, DownstreamTls, SanMatch, TlsCertificate, UpstreamTls } from './bootstrap-types.js';
import { readTypedConfig } from './typed-config.js';
import type { ObjectReader, ValueReader } from './yaml-reader.js';

export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';
export const DOWNSTREAM_TLS_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
export const UPSTREAM_TLS_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
/** A PEM file larger than this is refused (a real chain or bundle is far smaller). */
const MAX_PEM_FILE_BYTES = 4 * 1024 * 1024;

const VERSIONS: Record<string, number> = { TLS_AUTO: 0, TLSv1_2: TLS_VERSION.TLS1_2, TLSv1_3: TLS_VERSION.TLS1_3 };

/** config.core.v3.DataSource (filename or inline_string); returns the text and the file it came from. */
export function readDataSource(v: ValueReader): { text: string; path: string | null } | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(['filename', 'inline_string'], true);
  let result: { text: string; path: string | null } | undefined;
  if (which === 'filename') {
    const f = obj.field('filename');
    const path = f.nonEmptyString();
    if (path !== undefined) {
      try {
        const buf = readFileSync(path);
        if (buf.length > MAX_PEM_FILE_BYTES) f.problem(`names ${path}, which is over ${MAX_PEM_FILE_BYTES} bytes`);
        else result = { text: buf.toString('utf8'), path };
      } catch (err) {
        f.problem(`names ${path}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
    }
  } else if (which === 'inline_string') {
    const text = obj.field('inline_string').nonEmptyString();
    if (text !== undefined) result = { text, path: null };
  }
  obj.done();
  return result;
}

export function readCertificate(v: ValueReader): TlsCertificate | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const chainField = obj.field('certificate_chain');
  chainField.require();
  const chain = readDataSource(chainField);
  const keyField = obj.field('private_key');
  keyField.require();
  const key = readDataSource(keyField);
  obj.done();
  if (chain === undefined || key === undefined) return undefined;
  return { chainPem: chain.text, keyPem: key.text, chainPath: chain.path, keyPath: key.path };
}

function readSanMatcher(v: ValueReader): SanMatch | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const typeField = obj.field('san_type');
  typeField.require();
  const type = typeField.enumOf(['URI', 'DNS'] as const);
  const matcherField = obj.field('matcher');
  matcherField.require();
  const m = matcherField.object();
  let match: { kind: SanMatch['kind']; value: string } | undefined;
  let ignoreCase = false;
  if (m !== undefined) {
    if (m.has('safe_regex')) m.field('safe_regex').problem('is not supported for subject-alt-name matching (use exact, prefix, suffix or contains)');
    const kind = m.oneOf(['exact', 'prefix', 'suffix', 'contains'], !m.has('safe_regex'));
    if (kind !== null && kind !== undefined) {
      const value = m.field(kind).nonEmptyString();
      if (value !== undefined) match = { kind, value };
    }
    ignoreCase = m.field('ignore_case').bool() ?? false;
    m.done();
  }
  obj.done();
  if (type === undefined || match === undefined) return undefined;
  return { type, kind: match.kind, value: match.value, ignoreCase };
}

function readVersion(v: ValueReader, fallback: number): number | undefined {
  if (v.missing) return fallback;
  const name = v.string();
  if (name === undefined) return undefined;
  if (name === 'TLSv1_0' || name === 'TLSv1_1') {
    v.problem(`is ${name}; only TLSv1_2 and TLSv1_3 are supported`);
    return undefined;
  }
  const version = Object.hasOwn(VERSIONS, name) ? VERSIONS[name] : undefined; // own keys: 'toString' is not a version
  if (version === undefined) {
    v.problem(`must be one of ${Object.keys(VERSIONS).join(', ')} (got "${name}")`);
    return undefined;
  }
  return version === 0 ? fallback : version;
}

/** CommonTlsContext; `server` says which certificate count applies. */
function readCommonTls(v: ValueReader, server: boolean): CommonTls | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const certsField = obj.field('tls_certificates');
  const certificates: TlsCertificate[] = [];
  let ok = true;
  for (const item of certsField.list()) {
    const cert = readCertificate(item);
    if (cert === undefined) ok = false;
    else certificates.push(cert);
  }
  if (server && certsField.missing && !obj.has('tls_certificate_sds_secret_configs')) {
    certsField.problem('is required (or tls_certificate_sds_secret_configs): a server needs a certificate');
  }
  if (!server && certificates.length > 1) certsField.problem('may hold at most one certificate (the client certificate)');
  let trustedCa: { text: string; path: string | null } | undefined;
  const sanMatchers: SanMatch[] = [];
  let certificateSecret: string | undefined;
  let validationSecret: string | undefined;
  const sdsCertsField = obj.field('tls_certificate_sds_secret_configs');
  const sdsCerts = sdsCertsField.list();
  if (sdsCerts.length > 1) sdsCertsField.problem('may name one secret');
  for (const item of sdsCerts) {
    const name = readSdsSecretConfig(item);
    if (name === undefined) ok = false;
    else certificateSecret = name;
  }
  if (!certsField.missing && !sdsCertsField.missing) sdsCertsField.problem('cannot be combined with tls_certificates');
  const readValidation = (validationField: ValueReader): ObjectReader | undefined => {
    const validation = validationField.object();
    if (validation === undefined) return undefined;
    const caField = validation.field('trusted_ca');
    if (!caField.missing) {
      trustedCa = readDataSource(caField);
      if (trustedCa === undefined) ok = false;
    }
    const sansField = validation.field('match_typed_subject_alt_names');
    for (const item of sansField.list()) {
      const m = readSanMatcher(item);
      if (m === undefined) ok = false;
      else sanMatchers.push(m);
    }
    return validation;
  };
  const validationField = obj.field('validation_context');
  const sdsValidationField = obj.field('validation_context_sds_secret_config');
  const combinedField = obj.field('combined_validation_context');
  const present = [validationField, sdsValidationField, combinedField].filter((f) => !f.missing).length;
  if (present > 1) obj.field(combinedField.missing ? 'validation_context_sds_secret_config' : 'combined_validation_context').problem('is one of validation_context, validation_context_sds_secret_config and combined_validation_context: give one');
  const validation = readValidation(validationField);
  if (validation !== undefined) {
    if (sanMatchers.length > 0 && trustedCa === undefined) validation.field('match_typed_subject_alt_names').problem('needs validation_context.trusted_ca to verify the certificate first');
    validation.done();
  }
  if (!sdsValidationField.missing) {
    validationSecret = readSdsSecretConfig(sdsValidationField);
    if (validationSecret === undefined) ok = false;
  }
  const combined = combinedField.object();
  if (combined !== undefined) {
    const defaults = combined.field('default_validation_context');
    defaults.require();
    const d = readValidation(defaults);
    d?.done();
    const sdsField = combined.field('validation_context_sds_secret_config');
    sdsField.require();
    validationSecret = readSdsSecretConfig(sdsField);
    if (validationSecret === undefined) ok = false;
    combined.done();
  }
  const alpnField = obj.field('alpn_protocols');
  const alpn: string[] = [];
  for (const item of alpnField.list()) {
    const p = item.nonEmptyString();
    if (p === undefined) ok = false;
    else if (Buffer.byteLength(p) > 255) item.problem('is longer than 255 bytes');
    else alpn.push(p);
  }
  let minVersion: number | undefined = TLS_VERSION.TLS1_2;
  let maxVersion: number | undefined = TLS_VERSION.TLS1_3;
  const params = obj.field('tls_params').object();
  if (params !== undefined) {
    const minField = params.field('tls_minimum_protocol_version');
    const maxField = params.field('tls_maximum_protocol_version');
    minVersion = readVersion(minField, TLS_VERSION.TLS1_2);
    maxVersion = readVersion(maxField, TLS_VERSION.TLS1_3);
    if (minVersion !== undefined && maxVersion !== undefined && minVersion > maxVersion) {
      minField.problem('is above tls_maximum_protocol_version');
      minVersion = undefined;
    }
    params.done();
  }
  obj.done();
  if (!ok || minVersion === undefined || maxVersion === undefined) return undefined;
  return {
    certificates, trustedCaPem: trustedCa?.text ?? null, trustedCaPath: trustedCa?.path ?? null, sanMatchers, alpn,
    minVersion, maxVersion,
    ...(certificateSecret !== undefined ? { certificateSecret } : {}),
    ...(validationSecret !== undefined ? { validationSecret } : {}),
  };
}

/**
 * transport_sockets.tls.v3.SdsSecretConfig: the secret's name. Its sds_config (where to fetch it) is accepted
 * and not followed: secrets come from static_resources.secrets, the agent's own identity (default, ROOTCA),
 * or the ADS stream, as istio-agent's local SDS serves them.
 */
function readSdsSecretConfig(v: ValueReader): string | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('name');
  nameField.require();
  const name = nameField.nonEmptyString();
  const sdsConfig = obj.field('sds_config').object();
  if (sdsConfig !== undefined) {
    for (const key of sdsConfig.keys()) sdsConfig.field(key);
    sdsConfig.done();
  }
  obj.done();
  return name;
}

/** Whether the context names SDS secrets still to be filled in (the engine cannot check it at config load). */
export function usesSds(common: CommonTls): boolean {
  return common.certificateSecret !== undefined || common.validationSecret !== undefined;
}

/** What the TLS engine is given for a context read from config (h2 left out of ALPN: see below). */
export function engineConfig(common: CommonTls, server: boolean, requireClientCertificate: boolean, allowH2 = false): TlsContextConfig {
  return {
    server,
    certificates: common.certificates.map((c) => ({ chain: c.chainPem, key: c.keyPem })),
    ...(common.trustedCaPem !== null ? { trustedCa: common.trustedCaPem } : {}),
    sanMatchers: common.sanMatchers,
    // h2 only where the proxy speaks it (a server chain whose HCM codec allows HTTP/2): offering or choosing it
    // elsewhere (Istio lists it) would have the peer speak HTTP/2 to an HTTP/1.1 connection.
    alpn: allowH2 ? [...common.alpn] : common.alpn.filter((p) => p !== 'h2'),
    minVersion: common.minVersion,
    maxVersion: common.maxVersion,
    requireClientCertificate,
  };
}

/** Builds the context once so the engine's own checks (PEM, key match) are reported at the config field. */
function checkWithEngine(at: ValueReader, config: TlsContextConfig): boolean {
  try {
    tlsCreateContext(config);
    return true;
  } catch (err) {
    at.problem(`is not a usable TLS context: ${(err as Error).message}`);
    return false;
  }
}

/** A transport_socket: `name` envoy.transport_sockets.tls and a typed_config of `typeUrl`. */
function readTlsTransportSocket(v: ValueReader, typeUrl: string): { typed: ValueReader; obj: ObjectReader } | undefined {
  const socket = v.object();
  if (socket === undefined) return undefined;
  const nameField = socket.field('name');
  nameField.require();
  const name = nameField.string();
  if (name !== undefined && name !== TLS_TRANSPORT_SOCKET && name !== 'tls') {
    nameField.problem(`names "${name}"; the only supported transport socket is ${TLS_TRANSPORT_SOCKET}`);
  }
  const typed = socket.field('typed_config');
  typed.require();
  const obj = readTypedConfig(typed, typeUrl);
  socket.done();
  if (obj === undefined || (name !== TLS_TRANSPORT_SOCKET && name !== 'tls')) return undefined;
  return { typed, obj };
}

/** A filter chain's transport_socket (DownstreamTlsContext). */
export function readDownstreamTransportSocket(v: ValueReader): DownstreamTls | undefined {
  const read = readTlsTransportSocket(v, DOWNSTREAM_TLS_TYPE_URL);
  if (read === undefined) return undefined;
  const { typed, obj } = read;
  const commonField = obj.field('common_tls_context');
  commonField.require();
  const common = readCommonTls(commonField, true);
  const requireField = obj.field('require_client_certificate');
  // A BoolValue: `{ value: true }` as xDS delivers it, a plain bool as a bootstrap file usually writes it.
  let requireClientCertificate = false;
  if (requireField.isMap()) {
    const wrapper = requireField.object()!;
    requireClientCertificate = wrapper.field('value').bool() ?? false;
    wrapper.done();
  } else requireClientCertificate = requireField.bool() ?? false;
  if (requireClientCertificate && common !== undefined && common.trustedCaPem === null && common.validationSecret === undefined) {
    requireField.problem('needs common_tls_context.validation_context.trusted_ca to verify the client certificate');
    obj.done();
    return undefined;
  }
  obj.done();
  if (common === undefined) return undefined;
  if (!usesSds(common) && !checkWithEngine(typed, engineConfig(common, true, requireClientCertificate))) return undefined;
  return { ...common, requireClientCertificate };
}

/** A cluster's transport_socket (UpstreamTlsContext). */
export function readUpstreamTransportSocket(v: ValueReader): UpstreamTls | undefined {
  const read = readTlsTransportSocket(v, UPSTREAM_TLS_TYPE_URL);
  if (read === undefined) return undefined;
  const { typed, obj } = read;
  const commonField = obj.field('common_tls_context');
  const common = commonField.missing
    ? { certificates: [], trustedCaPem: null, trustedCaPath: null, sanMatchers: [], alpn: [], minVersion: TLS_VERSION.TLS1_2, maxVersion: TLS_VERSION.TLS1_3 }
    : readCommonTls(commonField, false);
  const sniField = obj.field('sni');
  const sni = sniField.missing ? '' : sniField.nonEmptyString();
  if (sni !== undefined && Buffer.byteLength(sni) > 255) sniField.problem('is longer than 255 bytes');
  obj.done();
  if (common === undefined || sni === undefined || Buffer.byteLength(sni) > 255) return undefined;
  if (!usesSds(common) && !checkWithEngine(typed, engineConfig(common, false, false))) return undefined;
  return { ...common, sni };
}
