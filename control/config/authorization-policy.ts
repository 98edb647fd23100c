// AuthorizationPolicy spec (security.istio.io v1beta1/v1): which requests a
// workload's sidecar lets in. selector (workloads by label; absent: the
// namespace, or the mesh in the root namespace), action ALLOW or DENY, and
// rules: from.source, to.operation, when conditions. What needs parts this
// mesh does not have is refused with the reason: requestPrincipals and
// request.auth.* (JWT: RequestAuthentication does not exist here), AUDIT (no
// audit provider). CUSTOM needs provider.name ISTHMUS_AUTHZ_PROVIDER: the
// control plane's own ext_authz service (its Mixer rules decide); CUSTOM with
// no rules is refused (it would match nothing, as in Istio).
import type { ValueReader } from '../../src/config/yaml-reader.js';
import { isIpAddress, markLine, readLabels, readStringList, type SpecContext } from './istio-fields.js';
import type { AuthorizationPolicySpec, AuthzCondition, AuthzOperation, AuthzRule, AuthzSource } from './istio-types.js';

/** The provider name that means the control plane's own ext_authz service (envoy.service.auth.v3.Authorization). */
export const ISTHMUS_AUTHZ_PROVIDER = 'isthmus';
export const AUTHZ_ACTIONS = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] as const;
/** The `when` keys Istio documents that need no JWT; request.auth.* and experimental.* are refused. */
export const AUTHZ_CONDITION_KEYS = ['source.ip', 'remote.ip', 'source.namespace', 'source.principal', 'destination.ip', 'destination.port', 'connection.sni'] as const;
const HEADER_KEY = /^request\.headers\[([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\]$/;
const JWT_MESSAGE = 'needs JWT validation (RequestAuthentication), which this mesh does not have';
/** Bound on what one policy expands to in every sidecar's config. */
const MAX_RULES = 1000;
const MAX_VALUES = 1000;

/** An IP or CIDR as Istio writes ipBlocks ("10.0.0.0/8", "192.168.1.7"). */
function checkCidr(item: ValueReader, text: string): string | undefined {
  const slash = text.indexOf('/');
  const ip = slash < 0 ? text : text.slice(0, slash);
  const len = slash < 0 ? null : text.slice(slash + 1);
  const max = ip.includes(':') ? 128 : 32;
  if (!isIpAddress(ip) || (len !== null && (!/^\d{1,3}$/.test(len) || Number(len) > max))) {
    item.problem(`is not an IP address or CIDR range: "${text}"`);
    return undefined;
  }
  return text;
}

function checkPort(item: ValueReader, text: string): string | undefined {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    item.problem(`is not a port number (1-65535): "${text}"`);
    return undefined;
  }
  return String(Number(text));
}

/** Istio's string forms: exact, "prefix*", "*suffix", "*"; a '*' anywhere else is refused. */
function checkWildcard(item: ValueReader, text: string): string | undefined {
  const inner = text.length > 1 ? text.slice(1, -1) : '';
  if (inner.includes('*') || (text.length > 1 && text.startsWith('*') && text.endsWith('*'))) {
    item.problem(`may have '*' only at its start or its end (exact, "prefix*", "*suffix" or "*"): "${text}"`);
    return undefined;
  }
  return text;
}

type ListCheck = (item: ValueReader, text: string) => string | undefined;

/** A list field of strings; absent: undefined (not set). Empty lists are refused as Istio's validation does. */
function list(obj: { field(name: string): ValueReader }, name: string, check: ListCheck | undefined, bad: { ok: boolean }): string[] | undefined {
  const f = obj.field(name);
  if (f.missing) return undefined;
  const items = f.list();
  const values = readStringList(f, check);
  if (values.length !== items.length) bad.ok = false;
  else if (values.length === 0) {
    f.problem('must not be empty (leave the field out to match anything)');
    bad.ok = false;
  } else if (values.length > MAX_VALUES) {
    f.problem(`lists ${values.length} values; at most ${MAX_VALUES} are accepted`);
    bad.ok = false;
  }
  return values;
}

function readSource(v: ValueReader): AuthzSource | undefined {
  const wrap = v.object();
  if (wrap === undefined) return undefined;
  const srcField = wrap.field('source');
  srcField.require();
  const obj = srcField.object();
  wrap.done();
  if (obj === undefined) return undefined;
  const bad = { ok: true };
  for (const jwt of ['requestPrincipals', 'notRequestPrincipals']) {
    const f = obj.field(jwt);
    if (!f.missing) {
      f.problem(JWT_MESSAGE);
      bad.ok = false;
    }
  }
  const src: AuthzSource = {
    principals: list(obj, 'principals', checkWildcard, bad),
    notPrincipals: list(obj, 'notPrincipals', checkWildcard, bad),
    namespaces: list(obj, 'namespaces', checkWildcard, bad),
    notNamespaces: list(obj, 'notNamespaces', checkWildcard, bad),
    ipBlocks: list(obj, 'ipBlocks', checkCidr, bad),
    notIpBlocks: list(obj, 'notIpBlocks', checkCidr, bad),
    remoteIpBlocks: list(obj, 'remoteIpBlocks', checkCidr, bad),
    notRemoteIpBlocks: list(obj, 'notRemoteIpBlocks', checkCidr, bad),
  };
  obj.done();
  return bad.ok ? dropUnset(src) : undefined;
}

function readOperation(v: ValueReader): AuthzOperation | undefined {
  const wrap = v.object();
  if (wrap === undefined) return undefined;
  const opField = wrap.field('operation');
  opField.require();
  const obj = opField.object();
  wrap.done();
  if (obj === undefined) return undefined;
  const bad = { ok: true };
  const op: AuthzOperation = {
    hosts: list(obj, 'hosts', checkWildcard, bad),
    notHosts: list(obj, 'notHosts', checkWildcard, bad),
    ports: list(obj, 'ports', checkPort, bad),
    notPorts: list(obj, 'notPorts', checkPort, bad),
    methods: list(obj, 'methods', checkWildcard, bad),
    notMethods: list(obj, 'notMethods', checkWildcard, bad),
    paths: list(obj, 'paths', checkWildcard, bad),
    notPaths: list(obj, 'notPaths', checkWildcard, bad),
  };
  obj.done();
  return bad.ok ? dropUnset(op) : undefined;
}

function readCondition(v: ValueReader): AuthzCondition | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const keyField = obj.field('key');
  keyField.require();
  const key = keyField.nonEmptyString();
  let ok = key !== undefined;
  let check: ListCheck | undefined = checkWildcard;
  if (key !== undefined) {
    if (key.startsWith('request.auth.')) {
      keyField.problem(`"${key}" ${JWT_MESSAGE}`);
      ok = false;
    } else if (HEADER_KEY.test(key)) {
      check = checkWildcard;
    } else if (!(AUTHZ_CONDITION_KEYS as readonly string[]).includes(key)) {
      keyField.problem(`"${key}" is not a supported condition key (supported: request.headers[<name>], ${AUTHZ_CONDITION_KEYS.join(', ')})`);
      ok = false;
    } else if (key === 'source.ip' || key === 'remote.ip' || key === 'destination.ip') check = checkCidr;
    else if (key === 'destination.port') check = checkPort;
  }
  const bad = { ok: true };
  const values = list(obj, 'values', check, bad);
  const notValues = list(obj, 'notValues', check, bad);
  if (values === undefined && notValues === undefined && bad.ok) {
    obj.field('values').problem('or notValues is required');
    ok = false;
  }
  obj.done();
  if (!ok || !bad.ok || key === undefined) return undefined;
  return { key, ...(values !== undefined ? { values } : {}), ...(notValues !== undefined ? { notValues } : {}) };
}

function readRule(v: ValueReader): AuthzRule | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const fromField = obj.field('from');
  const from = fromField.listOf(readSource);
  const toField = obj.field('to');
  const to = toField.listOf(readOperation);
  const whenField = obj.field('when');
  const when = whenField.listOf(readCondition);
  obj.done();
  if (from === undefined || to === undefined || when === undefined) return undefined;
  return { from, to, when };
}

function dropUnset<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
}

export function readAuthorizationPolicySpec(v: ValueReader, cx: SpecContext): AuthorizationPolicySpec | undefined {
  // `spec: {}` (or a spec with nothing set) is Istio's deny-all: an ALLOW policy with no rules.
  if (!v.missing && v.isMap() === false) {
    v.problem('must be a map');
    return undefined;
  }
  const obj = v.missing ? undefined : v.object();
  let ok = true;
  let selector: Record<string, string> | undefined;
  let action: AuthorizationPolicySpec['action'] = 'ALLOW';
  let rules: AuthzRule[] = [];
  let provider: { name: string } | undefined;
  if (obj !== undefined) {
    const selectorField = obj.field('selector');
    if (!selectorField.missing) {
      const sel = selectorField.object();
      if (sel !== undefined) {
        const labelsField = sel.field('matchLabels');
        markLine(cx, labelsField);
        selector = readLabels(labelsField);
        sel.done();
      } else ok = false;
    }
    const targetRef = obj.field('targetRef');
    if (!targetRef.missing) {
      targetRef.problem('is not supported (waypoints and gateways by reference); use selector');
      ok = false;
    }
    const targetRefs = obj.field('targetRefs');
    if (!targetRefs.missing) {
      targetRefs.problem('is not supported (waypoints and gateways by reference); use selector');
      ok = false;
    }
    const actionField = obj.field('action');
    markLine(cx, actionField);
    const a = actionField.missing ? 'ALLOW' : actionField.enumOf(AUTHZ_ACTIONS);
    if (a === undefined) ok = false;
    else if (a === 'AUDIT') {
      actionField.problem('AUDIT needs an audit logging provider, which this mesh does not have; use ALLOW or DENY (or the istio.io/dry-run annotation)');
      ok = false;
    } else action = a;
    const providerField = obj.field('provider');
    if (a === 'CUSTOM') {
      providerField.require();
      const p = providerField.missing ? undefined : providerField.object();
      if (p === undefined) ok = false;
      else {
        const nameField = p.field('name');
        nameField.require();
        const name = nameField.nonEmptyString();
        if (name === undefined) ok = false;
        else if (name !== ISTHMUS_AUTHZ_PROVIDER) {
          nameField.problem(`names provider "${name}"; this mesh has one ext_authz provider, "${ISTHMUS_AUTHZ_PROVIDER}" (the control plane's own Authorization service, answered by its Mixer rules)`);
          ok = false;
        } else provider = { name };
        p.done();
      }
    } else if (!providerField.missing) {
      providerField.problem('is only for action CUSTOM');
      ok = false;
    }
    const rulesField = obj.field('rules');
    markLine(cx, rulesField);
    const read = rulesField.listOf(readRule);
    if (read === undefined) ok = false;
    else if (read.length > MAX_RULES) {
      rulesField.problem(`lists ${read.length} rules; at most ${MAX_RULES} are accepted`);
      ok = false;
    } else rules = read;
    if (ok && action === 'CUSTOM' && rules.length === 0) {
      rulesField.problem('is empty; a CUSTOM policy calls its provider only for the requests its rules match, so it needs at least one rule (`rules: [{}]` matches every request)');
      ok = false;
    }
    obj.done();
  }
  if (!ok) return undefined;
  return { ...(selector !== undefined ? { selector } : {}), action, ...(provider !== undefined ? { provider } : {}), rules };
}
