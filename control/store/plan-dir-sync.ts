// Reconciles the folder layer of the store with one whole read of the
// folder, as a pure function (the store commits the result):
// - a clean file: each of its resources is accepted;
// - a file with problems: every key it names is rejected with all of the
//   file's problems as the reason, and keeps serving its last accepted
//   version; when some document's key cannot be read, the keys the file
//   defined before are rejected too (they may still be in it);
// - a key no file defines any more loses its folder layer;
// - a key defined by two files: the first file (by name) wins, the other
//   definition is ignored and noted on the key.

import type { IstioResource } from '../config/istio-types.js';
import { keyOf, type ConfigRecord, type DirLayer, type ResourceKey, type SourceName } from './config-record.js';
import { problemsReason, type DirFile, type DirSnapshot } from './dir-snapshot.js';

/** A problem that names no resource (an unreadable folder, a file whose documents name no key). */
export interface FileProblem {
  readonly source: SourceName;
  readonly reason: string;
}

export interface DirSyncPlan {
  /** Records that change: the new record, or null to remove it. Unchanged records are left out. */
  readonly updates: ReadonlyMap<ResourceKey, ConfigRecord | null>;
  /** Notes about keys from this read (definitions ignored as duplicates). */
  readonly notes: ReadonlyMap<ResourceKey, readonly string[]>;
  readonly fileProblems: readonly FileProblem[];
}

function withDir(key: ResourceKey, record: ConfigRecord | undefined, dir: DirLayer | undefined): ConfigRecord | null {
  const api = record?.api;
  if (dir === undefined && api === undefined) return null;
  // servedSince is the store's to set (commit); kept here so an unchanged key compares equal.
  const since = record?.servedSince;
  return { key, ...(dir === undefined ? {} : { dir }), ...(api === undefined ? {} : { api }), ...(since === undefined ? {} : { servedSince: since }) };
}

function rejected(file: string, line: number | null, reason: string, previous: DirLayer | undefined): DirLayer {
  const last: IstioResource | undefined = previous?.resource;
  return { file, line, state: 'rejected', reason, ...(last === undefined ? {} : { resource: last }) };
}

class Planner {
  readonly dirLayers = new Map<ResourceKey, DirLayer>();
  readonly notes = new Map<ResourceKey, string[]>();
  readonly fileProblems: FileProblem[] = [];

  constructor(private readonly current: ReadonlyMap<ResourceKey, ConfigRecord>) {}

  private claim(key: ResourceKey, layer: DirLayer): void {
    const first = this.dirLayers.get(key);
    if (first === undefined) {
      this.dirLayers.set(key, layer);
      return;
    }
    const at = (d: DirLayer): string => (d.line === null ? d.file : `${d.file}:${d.line}`);
    const list = this.notes.get(key) ?? [];
    list.push(`${at(layer)}: ${key} is also defined at ${at(first)}; this definition is ignored`);
    this.notes.set(key, list);
  }

  cleanFile(f: DirFile): void {
    for (const r of f.resources) this.claim(keyOf(r), { file: f.file, line: r.source.line, state: 'accepted', resource: r });
  }

  fileWithProblems(f: DirFile): void {
    const reason = problemsReason(f.problems);
    const named = new Map<ResourceKey, number | null>();
    for (const d of f.documents) if (d.key !== undefined && !named.has(d.key)) named.set(d.key, d.line);
    if (!f.complete) {
      for (const record of this.current.values()) {
        if (record.dir?.file === f.file && !named.has(record.key)) named.set(record.key, record.dir.line);
      }
    }
    if (named.size === 0) this.fileProblems.push({ source: `dir:${f.file}`, reason });
    for (const [key, line] of named) this.claim(key, rejected(f.file, line, reason, this.current.get(key)?.dir));
  }

  folderUnreadable(dir: string, reason: string): void {
    this.fileProblems.push({ source: `dir:${dir}`, reason });
    for (const record of this.current.values()) {
      const d = record.dir;
      if (d !== undefined) this.dirLayers.set(record.key, rejected(d.file, d.line, reason, d));
    }
  }
}

/** Takes the store's records and a folder read; returns what to change. */
export function planDirSync(current: ReadonlyMap<ResourceKey, ConfigRecord>, snapshot: DirSnapshot): DirSyncPlan {
  const planner = new Planner(current);
  if (snapshot.folderProblem !== undefined) planner.folderUnreadable(snapshot.dir, snapshot.folderProblem);
  for (const f of snapshot.files) {
    if (f.problems.length === 0) planner.cleanFile(f);
    else planner.fileWithProblems(f);
  }
  const updates = new Map<ResourceKey, ConfigRecord | null>();
  const consider = (key: ResourceKey): void => {
    const record = current.get(key);
    const next = withDir(key, record, planner.dirLayers.get(key));
    if (JSON.stringify(next) !== JSON.stringify(record ?? null)) updates.set(key, next);
  };
  for (const key of planner.dirLayers.keys()) consider(key);
  for (const [key, record] of current) if (record.dir !== undefined && !planner.dirLayers.has(key)) consider(key);
  return { updates, notes: planner.notes, fileProblems: planner.fileProblems };
}
