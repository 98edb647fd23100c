// The control plane's LMDB environment (DESIGN.md §4): one env in the data
// dir with named databases `config` (a ConfigRecord per `Kind/ns/name`),
// `registry`, `ca` and `meta`. Two sources feed `config`: the watched folder
// (syncDirectory, whole reads) and the apply API (apply/delete); see
// config-record.ts for precedence. Changes are serialized, committed to LMDB,
// then announced to subscribers with the keys whose served version changed;
// a change that leaves the served set as it was announces nothing.

import { mkdirSync } from 'node:fs';
import { open, type Database, type RootDatabase } from 'lmdb';
import { deepFreeze } from '../../src/config/deep-freeze.js';
import type { IstioResource } from '../config/istio-types.js';
import { analyzeServed } from './config-analysis.js';
import {
  sameContent, servedResource, statusView, type ConfigRecord, type ResourceKey, type ResourceStatusView,
} from './config-record.js';
import type { DirSnapshot } from './dir-snapshot.js';
import { planApply, planDelete, type ApiResult } from './plan-api-change.js';
import { planDirSync, type FileProblem } from './plan-dir-sync.js';

const META_REVISION = 'config_revision';

/** One announced change: the new revision and the keys whose served resource was added, changed or removed. */
export interface ConfigChange {
  readonly revision: number;
  readonly keys: ReadonlySet<ResourceKey>;
}

export type ConfigListener = (change: ConfigChange) => void;

export interface ApiResponse {
  /** The revision after the request (unchanged when nothing changed). */
  readonly revision: number;
  readonly results: readonly ApiResult[];
  /** Whether any result was rejected (then nothing changed). */
  readonly rejected: boolean;
}

export interface DirSyncResult {
  readonly revision: number;
  readonly changedKeys: number;
  readonly accepted: number;
  readonly rejected: number;
}

/** Counters for /metrics. */
export interface ConfigStoreCounters {
  dirSyncs: number;
  applies: number;
  appliesRejected: number;
  deletes: number;
  deletesRejected: number;
}

export interface ConfigStoreOptions {
  /** Called when a subscriber throws (default: rethrown outside the store, which crashes loudly). */
  readonly onListenerError?: (err: unknown) => void;
}

export class ConfigStore {
  /** ConfigRecord by `Kind/namespace/name`. */
  readonly config: Database<ConfigRecord, string>;
  /** Workloads (for the registry). */
  readonly registry: Database<unknown, string>;
  /** CA material (for the CA). */
  readonly ca: Database<unknown, string>;
  readonly meta: Database<unknown, string>;
  readonly counters: ConfigStoreCounters = { dirSyncs: 0, applies: 0, appliesRejected: 0, deletes: 0, deletesRejected: 0 };

  private readonly records = new Map<ResourceKey, ConfigRecord>();
  private warnings = new Map<ResourceKey, string[]>();
  private dirNotes: ReadonlyMap<ResourceKey, readonly string[]> = new Map();
  private fileProblemList: readonly FileProblem[] = [];
  private readonly listeners = new Set<ConfigListener>();
  private currentRevision: number;
  /** Changes run one at a time, each against the records the previous one left. */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly env: RootDatabase,
    private readonly options: ConfigStoreOptions,
  ) {
    this.config = env.openDB<ConfigRecord, string>({ name: 'config', encoding: 'msgpack' });
    this.registry = env.openDB<unknown, string>({ name: 'registry', encoding: 'msgpack' });
    this.ca = env.openDB<unknown, string>({ name: 'ca', encoding: 'msgpack' });
    this.meta = env.openDB<unknown, string>({ name: 'meta', encoding: 'msgpack' });
    for (const { key, value } of this.config.getRange()) this.records.set(key, deepFreeze(value));
    const rev = this.meta.get(META_REVISION);
    this.currentRevision = typeof rev === 'number' ? rev : 0;
    this.warnings = analyzeServed(this.resources());
  }

  /** Opens (creating when missing) the environment in `dir` and loads the stored records. */
  static open(dir: string, options: ConfigStoreOptions = {}): ConfigStore {
    mkdirSync(dir, { recursive: true });
    const env = open(dir, { maxDbs: 8, mapSize: 256 * 1024 * 1024 });
    return new ConfigStore(dir, env, options);
  }

  /** Bumped by every announced change; persisted (xDS versions can build on it). */
  revision(): number {
    return this.currentRevision;
  }

  /** Calls listener after every change of the served set; returns the unsubscribe function. */
  subscribe(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The served resources (frozen), sorted by key. */
  resources(): IstioResource[] {
    const out: IstioResource[] = [];
    for (const key of [...this.records.keys()].sort()) {
      const r = servedResource(this.records.get(key));
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  /** The served resource of a key, if any. */
  resource(key: ResourceKey): IstioResource | undefined {
    return servedResource(this.records.get(key));
  }

  record(key: ResourceKey): ConfigRecord | undefined {
    return this.records.get(key);
  }

  /** Status of every stored key, sorted by key. */
  statuses(): ResourceStatusView[] {
    return [...this.records.keys()].sort().map((key) => {
      const notes = [...(this.dirNotes.get(key) ?? []), ...(this.warnings.get(key) ?? [])];
      return statusView(this.records.get(key)!, notes);
    });
  }

  /** Problems of the last folder read that name no resource. */
  fileProblems(): readonly FileProblem[] {
    return this.fileProblemList;
  }

  /** Reconciles the folder layer with a whole read of the folder. */
  syncDirectory(snapshot: DirSnapshot): Promise<DirSyncResult> {
    return this.serialize(async () => {
      const plan = planDirSync(this.records, snapshot);
      const changedKeys = await this.commit(plan.updates);
      this.dirNotes = plan.notes;
      this.fileProblemList = plan.fileProblems;
      this.counters.dirSyncs++;
      let accepted = 0;
      let rejected = 0;
      for (const r of this.records.values()) {
        if (r.dir?.state === 'accepted') accepted++;
        else if (r.dir?.state === 'rejected') rejected++;
      }
      return { revision: this.currentRevision, changedKeys, accepted, rejected };
    });
  }

  /** Applies every resource in the YAML text, or (when any is rejected) none. */
  apply(text: string): Promise<ApiResponse> {
    return this.serialize(async () => {
      const plan = planApply(text, this.records, new Date().toISOString());
      const rejected = plan.results.some((r) => r.outcome === 'rejected');
      this.counters.applies++;
      if (rejected) this.counters.appliesRejected++;
      else await this.commit(plan.updates);
      // The cross-resource findings about what was just applied, so `isthmus apply` can show them.
      const results = rejected ? plan.results : plan.results.map((r) => {
        const warnings = this.warnings.get(r.key);
        return warnings === undefined || warnings.length === 0 ? r : { ...r, warnings };
      });
      return { revision: this.currentRevision, results, rejected };
    });
  }

  /** Deletes the applied version of every resource the YAML text names, or (when any is rejected) none. */
  delete(text: string): Promise<ApiResponse> {
    return this.serialize(async () => {
      const plan = planDelete(text, this.records);
      const rejected = plan.results.some((r) => r.outcome === 'rejected');
      this.counters.deletes++;
      if (rejected) this.counters.deletesRejected++;
      else await this.commit(plan.updates);
      return { revision: this.currentRevision, results: plan.results, rejected };
    });
  }

  /** Waits for changes under way, then closes the environment. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.catch(() => undefined);
    this.listeners.clear();
    await this.env.close();
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('config store is closed'));
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Writes the updates in one transaction, then updates memory, warnings and subscribers; returns how many served keys changed. */
  private async commit(updates: ReadonlyMap<ResourceKey, ConfigRecord | null>): Promise<number> {
    if (updates.size === 0) return 0;
    const changed = new Set<ResourceKey>();
    for (const [key, next] of updates) {
      if (!sameContent(servedResource(this.records.get(key)), servedResource(next ?? undefined))) changed.add(key);
    }
    const revision = changed.size > 0 ? this.currentRevision + 1 : this.currentRevision;
    await this.env.transaction(() => {
      for (const [key, next] of updates) {
        if (next === null) this.config.remove(key);
        else this.config.put(key, next);
      }
      if (revision !== this.currentRevision) this.meta.put(META_REVISION, revision);
    });
    for (const [key, next] of updates) {
      if (next === null) this.records.delete(key);
      else this.records.set(key, deepFreeze(next));
    }
    this.currentRevision = revision;
    this.warnings = analyzeServed(this.resources());
    if (changed.size > 0) this.announce({ revision, keys: changed });
    return changed.size;
  }

  private announce(change: ConfigChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (err) {
        if (this.options.onListenerError !== undefined) this.options.onListenerError(err);
        else queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
