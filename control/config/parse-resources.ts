// The control plane's configuration edge: Istio-shaped YAML (or JSON), one or
// more documents per file separated by `---`, in; deep-frozen IstioResources
// out, or every problem found (file, line, field path) at once. A folder is
// read as all its *.yaml, *.yml and *.json files in name order.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { ConfigError, type ConfigProblem } from '../../src/config/config-error.js';
import { deepFreeze } from '../../src/config/deep-freeze.js';
import { ProblemList, ValueReader, type ReadContext } from '../../src/config/yaml-reader.js';
import { readDestinationRuleSpec } from './destination-rule.js';
import { readGatewaySpec } from './gateway.js';
import { markLine, readAnnotations, readDnsLabel, readDnsSubdomain, readLabels, type SpecContext } from './istio-fields.js';
import {
  ISTIO_API_VERSIONS, ISTIO_KINDS, type IstioKind, type IstioResource, type ResourceMetadata,
} from './istio-types.js';
import { readServiceEntrySpec, readWorkloadEntrySpec } from './service-entry.js';
import { readPeerAuthenticationSpec } from './peer-authentication.js';
import { readPolicyHandlerSpec } from './mixer-handler.js';
import { readPolicyInstanceSpec } from './mixer-instance.js';
import { readPolicyRuleSpec } from './mixer-rule.js';
import { apiVersionServes } from './api-version-kinds.js';
import { readAuthorizationPolicySpec } from './authorization-policy.js';
import { readSidecarSpec } from './sidecar.js';
import { readTelemetrySpec } from './telemetry.js';
import { readVirtualServiceSpec } from './virtual-service.js';

/** Resources that parsed cleanly, and the problems of those that did not (a document with any problem is left out). */
export interface ResourceReadResult {
  readonly resources: readonly IstioResource[];
  readonly problems: readonly ConfigProblem[];
}

/** The files of a config folder that hold resources (the folder watcher reacts to these names only). */
export const RESOURCE_FILE = /\.(ya?ml|json)$/i;
/** Bounds on a config folder: a folder this large is a mistake (a wrong path), not a mesh. */
const MAX_FILES = 10_000;
const MAX_FILE_BYTES = 16 * 1024 * 1024;

const SPEC_READERS: Readonly<Record<IstioKind, (v: ValueReader, cx: SpecContext) => unknown>> = {
  ServiceEntry: readServiceEntrySpec,
  WorkloadEntry: (v) => readWorkloadEntrySpec(v),
  VirtualService: readVirtualServiceSpec,
  DestinationRule: readDestinationRuleSpec,
  Sidecar: readSidecarSpec,
  Gateway: readGatewaySpec,
  PeerAuthentication: readPeerAuthenticationSpec,
  AuthorizationPolicy: readAuthorizationPolicySpec,
  Telemetry: readTelemetrySpec,
  handler: readPolicyHandlerSpec,
  instance: readPolicyInstanceSpec,
  rule: readPolicyRuleSpec,
};

/** cx.namespace is unused here (metadata decides it); cx.fieldLines gets metadata.name's line. */
function readMetadata(v: ValueReader, cx: SpecContext): ResourceMetadata | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const nameField = obj.field('name');
  nameField.require();
  const name = readDnsSubdomain(nameField);
  markLine(cx, nameField);
  const nsField = obj.field('namespace');
  const namespace = nsField.missing ? 'default' : readDnsLabel(nsField);
  const labels = readLabels(obj.field('labels'));
  const annotations = readAnnotations(obj.field('annotations'));
  obj.done();
  if (name === undefined || namespace === undefined) return undefined;
  return { name, namespace, labels, annotations };
}

/** One document: a resource, or undefined after recording why not. */
function readResource(root: ValueReader, file: string): IstioResource | undefined {
  const problems = root.ctx.problems;
  const before = problems.problems.length;
  const obj = root.object();
  if (obj === undefined) return undefined;
  const fieldLines: Record<string, number> = {};
  const apiVersionField = obj.field('apiVersion');
  apiVersionField.require();
  const apiVersion = apiVersionField.enumOf(ISTIO_API_VERSIONS);
  const kindField = obj.field('kind');
  kindField.require();
  const kindText = kindField.string();
  const kind = ISTIO_KINDS.find((k) => k === kindText);
  if (kindText !== undefined && kind === undefined) {
    kindField.problem(`"${kindText}" is not supported (supported kinds: ${ISTIO_KINDS.join(', ')})`);
  }
  if (apiVersion !== undefined && kind !== undefined) {
    const problem = apiVersionServes(apiVersion, kind);
    if (problem !== null) apiVersionField.problem(problem);
  }
  const metadataField = obj.field('metadata');
  metadataField.require();
  const metadata = readMetadata(metadataField, { namespace: '', fieldLines });
  const specField = obj.field('spec');
  // An unknown kind's spec would only add noise: its fields are unknown by definition.
  // AuthorizationPolicy alone may leave spec out (`spec: {}` and no spec both mean deny-all in Istio).
  if (kind !== undefined && kind !== 'AuthorizationPolicy') specField.require();
  // Read the spec even when the metadata is wrong, so one pass reports both (the namespace falls back for host names).
  const spec = kind === undefined ? undefined
    : SPEC_READERS[kind](specField, { namespace: metadata?.namespace ?? 'default', fieldLines });
  obj.done();
  if (problems.problems.length > before || apiVersion === undefined || kind === undefined || metadata === undefined || spec == null) {
    return undefined;
  }
  const line = root.node?.range ? problems.lineOf(root.node.range[0]) : 1;
  return { apiVersion, kind, metadata, spec, source: { file, line, fieldLines } } as IstioResource;
}

function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return problems.map((p, i) => ({ p, i }))
    .sort((a, b) => (a.p.file < b.p.file ? -1 : a.p.file > b.p.file ? 1 : 0) || (a.p.line ?? 0) - (b.p.line ?? 0) || a.i - b.i)
    .map((x) => x.p);
}

/** Like parseResources, but returns the clean resources beside the problems instead of throwing. */
export function readResources(text: string, fileName: string): ResourceReadResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems = new ProblemList(fileName, lineCounter);
  const list: Document[] = Array.isArray(docs) ? docs : [];
  const resources: IstioResource[] = [];
  for (const doc of list) {
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        problems.problems.push({ file: fileName, line: problems.lineOf(err.pos[0]), path: '', message: `YAML: ${err.message}` });
      }
      continue;
    }
    const ctx: ReadContext = { doc, problems };
    const rootNode = new ValueReader(ctx, null, '').resolve(doc.contents as Node | null);
    if (rootNode === null) continue; // an empty document (a trailing `---`, a comment-only file)
    if (!isMap(rootNode)) {
      problems.add(rootNode, '', 'each document must be a map with apiVersion, kind, metadata and spec');
      continue;
    }
    const resource = readResource(new ValueReader(ctx, rootNode, ''), fileName);
    if (resource !== undefined) resources.push(deepFreeze(resource));
  }
  return { resources, problems: sortProblems(problems.problems) };
}

/**
 * Takes the text of a file of Istio resources and its name (for messages). Returns the resources, deep-frozen,
 * in document order; or throws ConfigError listing every problem, e.g.
 * `reviews.yaml:14: spec.http[0].route[0].destination.subsetz is not supported`.
 */
export function parseResources(text: string, fileName: string): IstioResource[] {
  const result = readResources(text, fileName);
  if (result.problems.length > 0) throw new ConfigError(result.problems);
  return result.resources.slice();
}

/** Like loadResourceDir, but returns the clean resources beside the problems of every file. */
export async function readResourceDir(dir: string): Promise<ResourceReadResult> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => (e.isFile() || e.isSymbolicLink()) && RESOURCE_FILE.test(e.name))
      .map((e) => e.name)
      .sort();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { resources: [], problems: [{ file: dir, line: null, path: '', message: `cannot read the folder: ${e.code ?? e.message}` }] };
  }
  if (names.length > MAX_FILES) {
    return { resources: [], problems: [{ file: dir, line: null, path: '', message: `has ${names.length} config files; at most ${MAX_FILES} are read` }] };
  }
  const resources: IstioResource[] = [];
  const problems: ConfigProblem[] = [];
  for (const name of names) {
    const path = join(dir, name);
    let text: string;
    try {
      const info = await stat(path);
      if (info.size > MAX_FILE_BYTES) {
        problems.push({ file: path, line: null, path: '', message: `is ${info.size} bytes; config files are limited to ${MAX_FILE_BYTES}` });
        continue;
      }
      text = await readFile(path, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      problems.push({ file: path, line: null, path: '', message: `cannot read the file: ${e.code ?? e.message}` });
      continue;
    }
    const result = readResources(text, path);
    resources.push(...result.resources);
    problems.push(...result.problems);
  }
  return { resources, problems };
}

/** Reads every *.yaml, *.yml and *.json file in dir (sorted by name); throws one ConfigError with the problems of all files. */
export async function loadResourceDir(dir: string): Promise<IstioResource[]> {
  const result = await readResourceDir(dir);
  if (result.problems.length > 0) throw new ConfigError(result.problems);
  return result.resources.slice();
}
