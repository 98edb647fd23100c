// What the sidecar's ADS client holds per resource type: the accepted
// resources (proto3 JSON) with their versions, the type's version and nonce,
// and the subscriptions RDS/EDS need. A response is proposed as a change to
// one type; nothing is kept until the client decides to ACK it, so a NACKed
// response leaves the last good resources in place.
import { TYPE_URL } from '../../src/xds/xds-protos.js';
import {
  assembleBootstrap, edsServiceName, listenerRouteNames, validateXdsResource,
  type Assembly, type Json, type XdsResourceSet,
} from '../../src/xds/xds-resources.js';

export interface StoredResource {
  readonly json: Json;
  /** Delta: the server's per-resource version; SotW: the response's version_info. */
  readonly version: string;
}

export interface TypeRecord {
  resources: Map<string, StoredResource>;
  /** version_info / system_version_info of the last accepted response; '' before one. */
  version: string;
  /** Nonce of the last response of this type (accepted or not). */
  nonce: string;
  acceptedAt: string | null;
}

export interface ResourceUpdate {
  readonly typeUrl: string;
  readonly upserts: readonly { readonly name: string; readonly json: Json; readonly version: string }[];
  readonly removed: readonly string[];
  /** State of the world: resources not in `upserts` are gone. */
  readonly replaceAll: boolean;
}

export type Proposal =
  | { readonly ok: false; readonly problems: readonly string[] }
  | { readonly ok: true; readonly assembly: Assembly; commit(version: string): void };

/** Types in make-before-break order: what is referenced arrives before what references it. */
export const CLIENT_TYPES = [TYPE_URL.CLUSTER, TYPE_URL.ENDPOINT, TYPE_URL.LISTENER, TYPE_URL.ROUTE] as const;
const MAX_PROBLEMS = 20;

export class XdsClientState {
  readonly types = new Map<string, TypeRecord>(CLIENT_TYPES.map((t) => [t, { resources: new Map(), version: '', nonce: '', acceptedAt: null }]));

  record(typeUrl: string): TypeRecord {
    return this.types.get(typeUrl)!;
  }

  /** Validates each changed resource, then the whole set with the change; nothing changes until commit(). */
  propose(update: ResourceUpdate): Proposal {
    const current = this.record(update.typeUrl);
    const next = new Map(update.replaceAll ? [] : current.resources);
    const problems: string[] = [];
    for (const name of update.removed) next.delete(name);
    for (const resource of update.upserts) {
      if (current.resources.get(resource.name)?.version === resource.version && !update.replaceAll) continue;
      problems.push(...validateXdsResource(update.typeUrl, resource.json));
      next.set(resource.name, { json: resource.json, version: resource.version });
    }
    if (problems.length > 0) return { ok: false, problems: problems.slice(0, MAX_PROBLEMS) };
    let assembly: Assembly;
    try {
      assembly = assembleBootstrap(this.resourceSet(update.typeUrl, next));
    } catch (err) {
      const found = (err as { problems?: readonly { message: string }[] }).problems;
      return { ok: false, problems: found ? found.slice(0, MAX_PROBLEMS).map((p) => `xDS: ${p.message}`) : [String(err)] };
    }
    return {
      ok: true,
      assembly,
      commit: (version: string) => {
        current.resources = next;
        current.version = version;
        current.acceptedAt = new Date().toISOString();
      },
    };
  }

  /** Route configuration names the accepted listeners use (the RDS subscription). */
  wantedRoutes(): Set<string> {
    const names = new Set<string>();
    for (const { json } of this.record(TYPE_URL.LISTENER).resources.values()) for (const name of listenerRouteNames(json)) names.add(name);
    return names;
  }

  /** ClusterLoadAssignment names the accepted EDS clusters use (the EDS subscription). */
  wantedEndpoints(): Set<string> {
    const names = new Set<string>();
    for (const { json } of this.record(TYPE_URL.CLUSTER).resources.values()) {
      const name = edsServiceName(json);
      if (name !== undefined) names.add(name);
    }
    return names;
  }

  /** Forgets resources no longer subscribed (RDS/EDS after an unsubscribe). */
  forget(typeUrl: string, names: Iterable<string>): void {
    const record = this.record(typeUrl);
    for (const name of names) record.resources.delete(name);
  }

  /** name → version of what is held, for a delta stream's initial_resource_versions. */
  heldVersions(typeUrl: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, resource] of this.record(typeUrl).resources) out[name] = resource.version;
    return out;
  }

  private resourceSet(typeUrl: string, replaced: Map<string, StoredResource>): XdsResourceSet {
    const json = (t: string): Map<string, Json> => {
      const source = t === typeUrl ? replaced : this.record(t).resources;
      return new Map([...source].map(([name, r]) => [name, r.json]));
    };
    return {
      listeners: json(TYPE_URL.LISTENER),
      routes: json(TYPE_URL.ROUTE),
      clusters: json(TYPE_URL.CLUSTER),
      endpoints: json(TYPE_URL.ENDPOINT),
    };
  }
}
