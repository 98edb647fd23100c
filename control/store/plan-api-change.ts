// Plans an `isthmus apply` or `isthmus delete` request (YAML text, one or
// many documents) against the store's records, as a pure function. A
// request is all or nothing: when any document is rejected, nothing is
// changed and every other document is reported as not applied, so a set of
// resources that refer to each other never lands half-way.
// Problems point into the request body as `apply:LINE`.

import { formatProblem } from '../../src/config/config-error.js';
import { readResources } from '../config/parse-resources.js';
import {
  keyOf, sameContent, servedResource, type ConfigRecord, type ResourceKey,
} from './config-record.js';
import { documentAtLine, identifyDocuments, type DocumentIdentity } from './document-identity.js';

/** The file name parse problems carry for a request body. */
export const APPLY_SOURCE_NAME = 'apply';

export type ApiOutcome = 'created' | 'configured' | 'unchanged' | 'deleted' | 'rejected';

export interface ApiResult {
  /** `Kind/namespace/name`, or `document N` when the document names no key. */
  readonly key: string;
  readonly outcome: ApiOutcome;
  readonly reason?: string;
  /** What `isthmus analyze` finds about the resource as now served (`api:<key>:LINE: [warning: ]message`); apply only. */
  readonly warnings?: readonly string[];
}

export interface ApiChangePlan {
  readonly results: readonly ApiResult[];
  /** Records to write (null: remove); empty when anything was rejected. */
  readonly updates: ReadonlyMap<ResourceKey, ConfigRecord | null>;
}

function label(d: DocumentIdentity): string {
  return d.key ?? `document ${d.index} (${APPLY_SOURCE_NAME}:${d.line})`;
}

function noDocuments(): ApiChangePlan {
  return { results: [{ key: 'request', outcome: 'rejected', reason: `${APPLY_SOURCE_NAME}: contains no resources` }], updates: new Map() };
}

/** Every document rejected (with its reasons) or, when it had none, reported as not applied because of the others. */
function rejectAll(documents: readonly DocumentIdentity[], reasons: ReadonlyMap<number, string[]>): ApiChangePlan {
  const bad = [...reasons.keys()].map((i) => `${APPLY_SOURCE_NAME}:${documents[i - 1]!.line}`).join(', ');
  const results = documents.map((d): ApiResult => {
    const own = reasons.get(d.index);
    return { key: label(d), outcome: 'rejected', reason: own?.join('; ') ?? `not applied: the request had rejected documents (${bad})` };
  });
  return { results, updates: new Map() };
}

function addReason(reasons: Map<number, string[]>, d: DocumentIdentity, reason: string): void {
  const list = reasons.get(d.index) ?? [];
  list.push(reason);
  reasons.set(d.index, list);
}

/** Keys named twice in one request are ambiguous. */
function checkDuplicates(documents: readonly DocumentIdentity[], reasons: Map<number, string[]>): void {
  const seen = new Map<ResourceKey, DocumentIdentity>();
  for (const d of documents) {
    if (d.key === undefined) continue;
    const first = seen.get(d.key);
    if (first === undefined) seen.set(d.key, d);
    else addReason(reasons, d, `${APPLY_SOURCE_NAME}:${d.line}: ${d.key} is also defined at ${APPLY_SOURCE_NAME}:${first.line}`);
  }
}

/** Takes a request body and the current records; `now` stamps applied resources. */
export function planApply(text: string, current: ReadonlyMap<ResourceKey, ConfigRecord>, now: string): ApiChangePlan {
  const { documents } = identifyDocuments(text);
  const parsed = readResources(text, APPLY_SOURCE_NAME);
  if (documents.length === 0 && parsed.problems.length === 0) return noDocuments();
  if (documents.length === 0) {
    return { results: [{ key: 'request', outcome: 'rejected', reason: parsed.problems.map(formatProblem).join('; ') }], updates: new Map() };
  }
  const reasons = new Map<number, string[]>();
  for (const p of parsed.problems) addReason(reasons, documentAtLine(documents, p.line)!, formatProblem(p));
  checkDuplicates(documents, reasons);
  if (reasons.size > 0) return rejectAll(documents, reasons);

  const results: ApiResult[] = [];
  const updates = new Map<ResourceKey, ConfigRecord | null>();
  for (const parsedResource of parsed.resources) {
    const key = keyOf(parsedResource);
    // Stored resources name their source by key: lines of different requests would otherwise collide in messages.
    const resource = { ...parsedResource, source: { ...parsedResource.source, file: `api:${key}` } };
    const record = current.get(key);
    const served = servedResource(record);
    const outcome: ApiOutcome = served === undefined ? 'created' : sameContent(served, resource) ? 'unchanged' : 'configured';
    results.push({ key, outcome });
    if (record?.api !== undefined && sameContent(record.api.resource, resource)) continue;
    updates.set(key, { key, ...(record?.dir === undefined ? {} : { dir: record.dir }), api: { resource, appliedAt: now } });
  }
  return { results, updates };
}

/** Deletes the applied version of each key the documents name (only kind and metadata are read). */
export function planDelete(text: string, current: ReadonlyMap<ResourceKey, ConfigRecord>): ApiChangePlan {
  const { documents } = identifyDocuments(text);
  if (documents.length === 0) return noDocuments();
  const reasons = new Map<number, string[]>();
  checkDuplicates(documents, reasons);
  const results: ApiResult[] = [];
  const updates = new Map<ResourceKey, ConfigRecord | null>();
  for (const d of documents) {
    const where = `${APPLY_SOURCE_NAME}:${d.line}`;
    if (d.key === undefined) {
      addReason(reasons, d, `${where}: a document to delete needs kind and metadata.name`);
      continue;
    }
    const record = current.get(d.key);
    if (record?.api === undefined) {
      const dir = record?.dir;
      addReason(reasons, d, dir !== undefined
        ? `${where}: ${d.key} is defined in the watched config folder (${dir.file}${dir.line === null ? '' : `:${dir.line}`}); remove it there`
        : `${where}: ${d.key} not found`);
      continue;
    }
    const dir = record.dir;
    results.push(dir === undefined ? { key: d.key, outcome: 'deleted' } : {
      key: d.key, outcome: 'deleted', reason: `the watched config folder's definition (${dir.file}${dir.line === null ? '' : `:${dir.line}`}) applies again`,
    });
    updates.set(d.key, dir === undefined ? null : { key: d.key, dir });
  }
  if (reasons.size > 0) return rejectAll(documents, reasons);
  return { results, updates };
}
