// What the control plane stores per resource (DESIGN.md §4, database
// `config`): one record per `Kind/namespace/name` key, with up to two layers,
// one per source. The directory layer mirrors the watched config folder; the
// api layer holds what `isthmus apply` sent. Precedence: the api layer, when
// present, is served and the folder's version of the same key is shadowed
// (kept, shown in status, served again after `isthmus delete`). Records are
// plain data (msgpack in LMDB) and frozen once in memory.

import type { IstioResource } from '../config/istio-types.js';

/** `VirtualService/default/reviews` */
export type ResourceKey = string;

export function resourceKey(kind: string, namespace: string, name: string): ResourceKey {
  return `${kind}/${namespace}/${name}`;
}

export function keyOf(r: IstioResource): ResourceKey {
  return resourceKey(r.kind, r.metadata.namespace, r.metadata.name);
}

export type ResourceState = 'accepted' | 'rejected';

/** The folder's version of a key. */
export interface DirLayer {
  /** Path of the file that defines it (as read from the folder). */
  readonly file: string;
  /** Line of the document in the file, when known. */
  readonly line: number | null;
  readonly state: ResourceState;
  /** When rejected: every problem of the file, `file:line: message` joined by `; `. */
  readonly reason?: string;
  /**
   * The version served from the folder: the current one when accepted; when rejected, the last
   * accepted one (a typo in a file keeps the mesh on its last good config, as the proxy does), or none.
   */
  readonly resource?: IstioResource;
}

/** The applied version of a key (always accepted: a rejected apply stores nothing). */
export interface ApiLayer {
  readonly resource: IstioResource;
  /** ISO time of the apply that last changed it. */
  readonly appliedAt: string;
}

export interface ConfigRecord {
  readonly key: ResourceKey;
  readonly dir?: DirLayer;
  readonly api?: ApiLayer;
  /** ISO time since which some version of this key has been served without a gap (set by the store's commit). */
  readonly servedSince?: string;
}

/** The version the mesh is served for this key, if any: the api layer over the folder's. */
export function servedResource(record: ConfigRecord | undefined): IstioResource | undefined {
  return record?.api?.resource ?? record?.dir?.resource;
}

/**
 * The record as committed: servedSince kept from `previous` while the key stays served, `now` when it
 * starts being served, dropped when nothing is served.
 */
export function withServedSince(next: ConfigRecord, previous: ConfigRecord | undefined, now: string): ConfigRecord {
  const { servedSince: _ignored, ...rest } = next;
  if (servedResource(next) === undefined) return rest;
  const since = servedResource(previous) === undefined ? now : (previous?.servedSince ?? now);
  return { ...rest, servedSince: since };
}

/** The served resource with its record's servedSince in its source (for precedence); undefined when none. */
export function servedWithSince(record: ConfigRecord | undefined): IstioResource | undefined {
  const r = servedResource(record);
  if (r === undefined || record?.servedSince === undefined) return r;
  return { ...r, source: { ...r.source, servedSince: record.servedSince } };
}

/** The parts of a resource that configure the mesh (not where it was written), as comparable text. */
export function contentOf(r: IstioResource | undefined): string {
  return r === undefined ? '' : JSON.stringify([r.apiVersion, r.kind, r.metadata, r.spec]);
}

export function sameContent(a: IstioResource | undefined, b: IstioResource | undefined): boolean {
  return contentOf(a) === contentOf(b);
}

/** `dir:<file>` or `api`: where a key's served (or, for a rejected key without a served version, current) definition comes from. */
export type SourceName = 'api' | `dir:${string}`;

/** One row of /debug/configz. */
export interface ResourceStatusView {
  readonly key: ResourceKey;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly source: SourceName;
  /** `file:line` of the definition (applied resources: `api:<key>:<line>`, lines of the apply body). */
  readonly location: string | null;
  readonly status: ResourceState;
  readonly reason?: string;
  /** current: this definition is served; last-accepted: the last good version is served instead; none: nothing is served. */
  readonly serving: 'current' | 'last-accepted' | 'none';
  /** Cross-resource findings (analyze) about the served version; they never reject. */
  readonly warnings: readonly string[];
  /** The folder's definition of a key that the api layer overrides. */
  readonly shadowed?: { readonly source: SourceName; readonly location: string | null; readonly status: ResourceState; readonly reason?: string };
}

function dirLocation(d: DirLayer): string {
  return d.line === null ? d.file : `${d.file}:${d.line}`;
}

export function statusView(record: ConfigRecord, warnings: readonly string[]): ResourceStatusView {
  const [kind = '', namespace = '', name = ''] = record.key.split('/');
  const base = { key: record.key, kind, namespace, name, warnings };
  const d = record.dir;
  const dirSource: SourceName | undefined = d === undefined ? undefined : `dir:${d.file}`;
  if (record.api !== undefined) {
    const r = record.api.resource;
    const view: ResourceStatusView = {
      ...base, source: 'api', location: `${r.source.file}:${r.source.line}`, status: 'accepted', serving: 'current',
    };
    if (d === undefined || dirSource === undefined) return view;
    return {
      ...view,
      shadowed: { source: dirSource, location: dirLocation(d), status: d.state, ...(d.reason === undefined ? {} : { reason: d.reason }) },
    };
  }
  if (d === undefined || dirSource === undefined) throw new Error(`record ${record.key} has no layer`);
  const serving = d.state === 'accepted' ? 'current' : d.resource === undefined ? 'none' : 'last-accepted';
  return {
    ...base, source: dirSource, location: dirLocation(d), status: d.state, serving, ...(d.reason === undefined ? {} : { reason: d.reason }),
  };
}
