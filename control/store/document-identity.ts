// Which resource each YAML document names (kind, metadata.namespace,
// metadata.name), read leniently, even from a document that does not parse
// as a valid resource: a rejected document is reported against its key, and
// `isthmus delete` needs nothing but the key.

import { isMap, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { resourceKey, type ResourceKey } from './config-record.js';

export interface DocumentIdentity {
  /** 1-based index of the document in the text. */
  readonly index: number;
  /** Line where the document's text begins (its `---` when it has one); problems from this line on belong to it. */
  readonly firstLine: number;
  /** Line of the document's first key (where parse results put the resource), or firstLine. */
  readonly line: number;
  /** The key, when kind and metadata.name are strings (namespace defaults to "default", as in parseResources). */
  readonly key: ResourceKey | undefined;
}

export interface TextIdentities {
  readonly documents: readonly DocumentIdentity[];
  /** false when some document's key could not be read (its text is not YAML, or kind/name are missing). */
  readonly complete: boolean;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function identify(doc: Document): { key: ResourceKey | undefined } {
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: 100 });
  } catch {
    return { key: undefined };
  }
  if (js === null || typeof js !== 'object' || Array.isArray(js)) return { key: undefined };
  const obj = js as Record<string, unknown>;
  const kind = str(obj.kind);
  const meta = obj.metadata !== null && typeof obj.metadata === 'object' ? (obj.metadata as Record<string, unknown>) : {};
  const name = str(meta.name);
  const namespace = meta.namespace === undefined ? 'default' : str(meta.namespace);
  if (kind === undefined || name === undefined || namespace === undefined) return { key: undefined };
  return { key: resourceKey(kind, namespace, name) };
}

/** Takes YAML text; returns one identity per non-empty document, in order. Never throws. */
export function identifyDocuments(text: string): TextIdentities {
  const lineCounter = new LineCounter();
  let docs: Document[];
  try {
    const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch {
    return { documents: [], complete: false };
  }
  const documents: DocumentIdentity[] = [];
  let complete = true;
  for (const doc of docs) {
    const contents = doc.contents;
    if (contents === null && doc.errors.length === 0) continue; // empty document: a trailing `---` or comments only
    const firstLine = lineCounter.linePos(doc.range?.[0] ?? 0).line;
    const line = contents?.range ? lineCounter.linePos(contents.range[0]).line : firstLine;
    const { key } = isMap(contents) || doc.errors.length > 0 ? identify(doc) : { key: undefined };
    if (key === undefined) complete = false;
    documents.push({ index: documents.length + 1, firstLine, line, key });
  }
  return { documents, complete };
}

/** The document a line belongs to (the last one starting at or before it); the first document for a line before all. */
export function documentAtLine(documents: readonly DocumentIdentity[], line: number | null): DocumentIdentity | undefined {
  if (line === null) return documents[0];
  let found = documents[0];
  for (const d of documents) {
    if (d.firstLine <= line) found = d;
    else break;
  }
  return found;
}
