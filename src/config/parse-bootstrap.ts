// The configuration edge: an Envoy v3 bootstrap (YAML or JSON) in, a frozen,
// validated Bootstrap out, or one ConfigError listing every problem with its
// file, line and field path. Nothing past this point re-reads the file.

import { readSecret, resolveSdsSecrets, ROOT_CA_SECRET, WORKLOAD_CERT_SECRET, type SdsSecret } from './sds-secrets.js';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { Bootstrap, Cluster, Listener, SocketAddress } from './bootstrap-types.js';
import { readCluster } from './cluster.js';
import { readSocketAddress } from './socket-address.js';
import { ConfigError } from './config-error.js';
import { deepFreeze } from './deep-freeze.js';
import { readListener } from './listener.js';
import { readLayeredRuntime } from './layered-runtime.js';
import type { ClusterReference } from './route-action.js';
import { ObjectReader, ProblemList, ValueReader, type ReadContext } from './yaml-reader.js';

function readNode(v: ValueReader): void {
  const obj = v.object();
  if (obj === undefined) return;
  obj.field('id').string();
  obj.field('cluster').string();
  const metadata = obj.field('metadata');
  if (!metadata.missing && !metadata.isMap()) metadata.problem('must be a map');
  obj.done();
}

function readAdmin(v: ValueReader): { address: SocketAddress | undefined; accessLogPath: string | undefined } | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const addressField = obj.field('address');
  addressField.require();
  const address = readSocketAddress(addressField, true);
  // Envoy appends a line per admin request to this file; its own image's config sets it (often /dev/null).
  const accessLogPath = obj.field('access_log_path').nonEmptyString();
  obj.done();
  return { address, accessLogPath };
}

/** Names must be unique, and two listeners cannot bind the same address and port. */
function checkUnique(listeners: { value: Listener; at: ValueReader }[], clusters: { value: Cluster; at: ValueReader }[]): void {
  const listenerNames = new Set<string>();
  const binds = new Map<string, string>();
  for (const { value, at } of listeners) {
    if (listenerNames.has(value.name)) at.problem(`repeats listener name "${value.name}"`);
    listenerNames.add(value.name);
    const bind = `${value.address.address}:${value.address.port}`;
    const other = binds.get(bind);
    if (other !== undefined && value.address.port !== 0) at.problem(`binds ${bind}, as listener "${other}" already does`);
    binds.set(bind, value.name);
  }
  const clusterNames = new Set<string>();
  for (const { value, at } of clusters) {
    if (clusterNames.has(value.name)) at.problem(`repeats cluster name "${value.name}"`);
    clusterNames.add(value.name);
  }
}

/** Every cluster a route names must exist (go-control-plane's Consistent()). */
function checkClusterReferences(refs: readonly ClusterReference[], clusters: ReadonlySet<string>): void {
  for (const ref of refs) {
    if (!clusters.has(ref.name)) ref.at.problem(`names cluster "${ref.name}", which is not defined in static_resources.clusters`);
  }
}

/** Reads a whole bootstrap (also from documents built from plain objects, see parse-resource-object.ts). */
export function readBootstrap(root: ValueReader): Bootstrap | undefined {
  const obj = root.object();
  if (obj === undefined) return undefined;
  if (obj.has('listeners') && !obj.has('static_resources')) {
    // Envoy's v1 format (top-level listeners and cluster_manager.clusters) was removed in Envoy 1.9.
    obj.field('listeners').problem('is the old Envoy v1 format, which Envoy itself no longer reads: write a v3 bootstrap (static_resources.listeners and static_resources.clusters)');
    for (const key of obj.keys()) obj.field(key);
    obj.done();
    return undefined;
  }
  readNode(obj.field('node'));
  const adminField = obj.field('admin');
  const admin = adminField.missing ? undefined : readAdmin(adminField);
  const runtimeField = obj.field('layered_runtime');
  const runtime = runtimeField.missing ? undefined : readLayeredRuntime(runtimeField);
  const staticField = obj.field('static_resources');
  staticField.require();
  const statics = staticField.object();
  const listeners: { value: Listener; at: ValueReader }[] = [];
  const clusters: { value: Cluster; at: ValueReader }[] = [];
  const refs: ClusterReference[] = [];
  let clusterNamesRead = new Set<string>();
  const secrets: Record<string, SdsSecret> = {};
  if (statics !== undefined) {
    statics.field('listeners').list().forEach((item, i) => {
      const value = readListener(item, i, refs);
      if (value !== undefined) listeners.push({ value, at: item });
    });
    statics.field('clusters').list().forEach((item) => {
      const value = readCluster(item);
      if (value !== undefined) clusters.push({ value, at: item });
    });
    // A cluster with an error is still "defined": do not add a dangling-reference problem on top.
    clusterNamesRead = definedClusterNames(statics);
    const secretsField = statics.field('secrets');
    for (const item of secretsField.list()) {
      const secret = readSecret(item);
      if (secret === undefined) continue;
      if (Object.hasOwn(secrets, secret.name)) item.problem(`names secret "${secret.name}", which is already defined`);
      else secrets[secret.name] = secret;
    }
    statics.done();
  }
  obj.done();
  checkUnique(listeners, clusters);
  checkClusterReferences(refs, clusterNamesRead);
  // static_resources.secrets fill in the contexts that name them now; `default` and ROOTCA come from the agent's identity.
  const resolved = resolveSdsSecrets({ listeners: listeners.map((l) => l.value), clusters: clusters.map((c) => c.value) }, secrets);
  const unknown = resolved.missing.filter((n) => n !== WORKLOAD_CERT_SECRET && n !== ROOT_CA_SECRET);
  if (unknown.length > 0) {
    staticField.problem(`TLS contexts name SDS secrets ${unknown.map((n) => `"${n}"`).join(', ')}, which static_resources.secrets does not define (the agent's identity provides "${WORKLOAD_CERT_SECRET}" and "${ROOT_CA_SECRET}")`);
  }
  const result: Bootstrap = {
    listeners: resolved.bootstrap.listeners,
    clusters: resolved.bootstrap.clusters,
    ...(admin?.address !== undefined ? { admin: admin.address } : {}),
    ...(admin?.accessLogPath !== undefined ? { adminAccessLogPath: admin.accessLogPath } : {}),
    ...(runtime !== undefined ? { runtime } : {}),
  };
  return result;
}

/** Names of all clusters written in the file, valid or not. */
function definedClusterNames(statics: ObjectReader): Set<string> {
  const names = new Set<string>();
  const silent: ReadContext = { doc: statics.ctx.doc, problems: new ProblemList('', new LineCounter()) };
  const list = new ValueReader(silent, statics.field('clusters').node, '');
  for (const item of list.list()) {
    const name = item.object()?.field('name').string();
    if (name !== undefined) names.add(name);
  }
  return names;
}

/**
 * Takes the file text and its name (for messages), YAML or JSON. Returns a deep-frozen Bootstrap,
 * or throws ConfigError listing every problem, e.g.
 * `bootstrap.yaml:12: static_resources.clusters[2].dns_lookup_family is not supported`.
 */
export function parseBootstrap(text: string, fileName: string): Bootstrap {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems = new ProblemList(fileName, lineCounter);
  if (doc.errors.length > 0) {
    for (const err of doc.errors) {
      problems.problems.push({ file: fileName, line: problems.lineOf(err.pos[0]), path: '', message: `YAML: ${err.message}` });
    }
    throw new ConfigError(problems.problems);
  }
  const ctx: ReadContext = { doc, problems, caseInsensitiveEnums: true, singleMessageAsList: true };
  const root = new ValueReader(ctx, null, '');
  const rootNode = root.resolve(doc.contents);
  if (rootNode === null) {
    problems.add(null, '', 'the bootstrap is empty');
    throw new ConfigError(problems.problems);
  }
  const bootstrap = readBootstrap(new ValueReader(ctx, rootNode, ''));
  if (problems.problems.length > 0 || bootstrap === undefined) {
    if (problems.problems.length === 0) problems.add(rootNode, '', 'the bootstrap is invalid');
    throw new ConfigError(sortByLine(problems.problems));
  }
  return deepFreeze(bootstrap);
}

function sortByLine<T extends { readonly line: number | null }>(problems: T[]): T[] {
  return problems.map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.line ?? 0) - (b.p.line ?? 0) || a.i - b.i)
    .map((x) => x.p);
}

/** Reads and parses a bootstrap file; a read error becomes a ConfigError too. */
export async function loadBootstrapFile(path: string): Promise<Bootstrap> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError([{ file: path, line: null, path: '', message: `cannot read the file: ${e.code ?? e.message}` }]);
  }
  return parseBootstrap(text, path);
}
