// Incremental ADS (DeltaAggregatedResources), one instance per stream. The
// server remembers which version of each resource the proxy holds (from
// initial_resource_versions and from what it sent) and sends only resources
// whose version (a hash of their bytes) differs, plus the names of
// subscribed resources that disappeared. Every response is ACKed or NACKed
// on its own nonce.
import { AdsStream, BadRequest, controlPlaneField, LimitExceeded, nackMessage, type NodeIdentity, type TypeState } from './ads-stream.js';
import { isResourceTypeUrl, isWildcardType, PUSH_ORDER } from './protos.js';
import type { Snapshot } from './snapshot.js';
import { stringField } from './proto-writer.js';

export interface DeltaDiscoveryRequest {
  node?: unknown;
  type_url?: string;
  resource_names_subscribe?: string[];
  resource_names_unsubscribe?: string[];
  initial_resource_versions?: Record<string, string>;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

interface DeltaTypeState extends TypeState {
  /** name → version the proxy holds (or was sent). */
  clientVersions: Map<string, string>;
  /** Unanswered responses: nonce → system version, oldest first. */
  pending: Map<string, string>;
  /** Characters of the names in `names` (bounded by settings.maxResourceNameCharsPerType). */
  nameChars: number;
}

const CONTROL_PLANE = controlPlaneField(7);
/** A proxy that never answers cannot make this map grow without bound. */
const MAX_PENDING_NONCES = 16;

export class DeltaStream extends AdsStream<DeltaDiscoveryRequest, DeltaTypeState> {
  protected requestNode(request: DeltaDiscoveryRequest): unknown {
    return request.node;
  }

  protected handleRequest(request: DeltaDiscoveryRequest, node: NodeIdentity): void {
    const typeUrl = request.type_url;
    if (typeof typeUrl !== 'string' || typeUrl === '') throw new BadRequest('DeltaDiscoveryRequest.type_url is required on an aggregated stream');
    if (!isResourceTypeUrl(typeUrl)) {
      this.log.debug({ node: node.id, typeUrl }, 'request for a type this control plane does not serve');
      return;
    }
    const subscribe = stringList(request.resource_names_subscribe, 'resource_names_subscribe');
    const unsubscribe = stringList(request.resource_names_unsubscribe, 'resource_names_unsubscribe');
    let state = this.types.get(typeUrl);
    const first = state === undefined;
    if (state === undefined) {
      state = {
        sentVersion: null,
        ackedVersion: null,
        nackMessage: null,
        nonce: null,
        wildcard: subscribe.length === 0 && isWildcardType(typeUrl),
        names: new Set(),
        clientVersions: initialVersions(request.initial_resource_versions, typeUrl, this.settings.maxResourceNamesPerType),
        pending: new Map(),
        nameChars: 0,
      };
      this.types.set(typeUrl, state);
    }

    const nonce = request.response_nonce ?? '';
    const sentVersion = nonce === '' ? undefined : state.pending.get(nonce);
    if (sentVersion !== undefined) {
      // Responses before this one are superseded by it.
      for (const key of [...state.pending.keys()]) {
        state.pending.delete(key);
        if (key === nonce) break;
      }
      if (request.error_detail !== undefined && request.error_detail !== null) {
        state.nackMessage = nackMessage(request.error_detail);
        this.notify('onNack', typeUrl, state.ackedVersion ?? '', state.nackMessage);
      } else {
        state.ackedVersion = sentVersion;
        state.nackMessage = null;
        this.notify('onAck', typeUrl, sentVersion);
      }
    }

    const max = this.settings.maxResourceNamesPerType;
    let adding = 0;
    let addingChars = 0;
    for (const name of subscribe) {
      if (name === '*' || state.names.has(name)) continue;
      adding++;
      addingChars += name.length;
    }
    if (state.names.size + adding > max) {
      throw new LimitExceeded(
        `DeltaDiscoveryRequest for ${typeUrl}: subscribing to ${state.names.size + adding} resource names, more than the ${max} a stream may subscribe to per type`,
      );
    }
    const maxChars = this.settings.maxResourceNameCharsPerType;
    if (state.nameChars + addingChars > maxChars) {
      throw new LimitExceeded(
        `DeltaDiscoveryRequest for ${typeUrl}: subscribing to resource names of ${state.nameChars + addingChars} characters in all, more than the ${maxChars} a stream may hold per type`,
      );
    }
    for (const name of subscribe) {
      if (name === '*') state.wildcard = true;
      else if (!state.names.has(name)) {
        state.names.add(name);
        state.nameChars += name.length;
      }
    }
    for (const name of unsubscribe) {
      if (name === '*') state.wildcard = false;
      else if (state.names.delete(name)) state.nameChars -= name.length;
      state.clientVersions.delete(name); // the proxy forgets it; nothing to report
    }
    if (first || subscribe.length > 0 || unsubscribe.length > 0) {
      const snapshot = this.cache.getSnapshot(node.id);
      if (snapshot !== undefined && !this.deferIfBlocked(typeUrl)) this.push(typeUrl, state, snapshot);
    }
  }

  protected pushDeferred(typeUrl: string, state: DeltaTypeState, snapshot: Snapshot): void {
    this.push(typeUrl, state, snapshot);
  }

  protected onSnapshot(snapshot: Snapshot): void {
    for (const typeUrl of PUSH_ORDER) {
      const state = this.types.get(typeUrl);
      if (state === undefined || snapshot.version(typeUrl) === state.sentVersion) continue;
      if (!this.deferIfBlocked(typeUrl)) this.push(typeUrl, state, snapshot);
    }
  }

  /** Sends what the proxy lacks of one type and what it holds that is gone; nothing when it is current. */
  private push(typeUrl: string, state: DeltaTypeState, snapshot: Snapshot): void {
    const version = snapshot.version(typeUrl);
    const encoded = version === undefined ? undefined : snapshot.encodedType(typeUrl);
    if (version === undefined || encoded === undefined) return;
    const parts: Buffer[] = [stringField(1, version)];
    let changed = 0;
    const wanted = state.wildcard ? encoded.resources.keys() : state.names.values();
    for (const name of wanted) {
      const resource = encoded.resources.get(name);
      if (resource === undefined || state.clientVersions.get(name) === resource.version) continue;
      parts.push(resource.deltaEntry);
      state.clientVersions.set(name, resource.version);
      changed++;
    }
    const removed: Buffer[] = [];
    for (const name of state.clientVersions.keys()) {
      if (encoded.resources.has(name)) continue;
      removed.push(stringField(6, name));
      state.clientVersions.delete(name);
    }
    // A wildcard subscription (CDS, LDS) always gets a first answer, empty or not, as Istio sends one: the proxy
    // applies nothing before its first CDS and LDS responses (Envoy's initialization), so silence would stall it.
    const firstWildcardAnswer = state.wildcard && state.sentVersion === null;
    if (changed === 0 && removed.length === 0 && !firstWildcardAnswer) {
      // Nothing new for the proxy: once it accepts what it was last sent, it holds this version's content.
      if (state.pending.size > 0) state.pending.set(state.nonce!, version);
      else if (state.ackedVersion === state.sentVersion) state.ackedVersion = version;
      state.sentVersion = version;
      return;
    }
    const nonce = this.nextNonce();
    parts.push(stringField(4, typeUrl), stringField(5, nonce), ...removed, CONTROL_PLANE);
    this.send(Buffer.concat(parts));
    state.sentVersion = version;
    state.nonce = nonce;
    state.pending.set(nonce, version);
    if (state.pending.size > MAX_PENDING_NONCES) state.pending.delete(state.pending.keys().next().value!);
  }
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new BadRequest(`${field} must be strings`);
  return value as string[];
}

function initialVersions(value: unknown, typeUrl: string, max: number): Map<string, string> {
  const versions = new Map<string, string>();
  if (value === undefined || value === null) return versions;
  if (typeof value !== 'object') throw new BadRequest('initial_resource_versions must be a map of strings');
  let count = 0;
  for (const _ in value) {
    if (++count > max) {
      throw new LimitExceeded(`DeltaDiscoveryRequest for ${typeUrl}: initial_resource_versions has more than the ${max} names a stream may hold per type`);
    }
  }
  for (const [name, version] of Object.entries(value as Record<string, unknown>)) {
    if (typeof version !== 'string') throw new BadRequest(`initial_resource_versions[${JSON.stringify(name)}] must be a string`);
    versions.set(name, version);
  }
  return versions;
}
