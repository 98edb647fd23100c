// State-of-the-world ADS (StreamAggregatedResources), one instance per stream.
// Each response carries the whole subscribed set of one type at the snapshot's
// version; the proxy answers with the nonce and either the new version (ACK)
// or its previous version plus error_detail (NACK). A request echoing an older
// nonce is stale and ignored, as go-control-plane does.
import { AdsStream, BadRequest, controlPlaneField, LimitExceeded, nackMessage, type NodeIdentity, type TypeState } from './ads-stream.js';
import { isResourceTypeUrl, isWildcardType, PUSH_ORDER } from './protos.js';
import { sotwBody, type Snapshot } from './snapshot.js';
import { stringField } from './proto-writer.js';

export interface DiscoveryRequest {
  version_info?: string;
  node?: unknown;
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code?: number; message?: string };
}

interface SotwTypeState extends TypeState {
  /** The version the proxy holds or was last sent; a snapshot version different from it is pushed. */
  knownVersion: string;
  /** The proxy ACKed or NACKed the latest response: a later request echoing its nonce changes subscriptions only. */
  answered: boolean;
}

const CONTROL_PLANE = controlPlaneField(6);

export class SotwStream extends AdsStream<DiscoveryRequest, SotwTypeState> {
  protected requestNode(request: DiscoveryRequest): unknown {
    return request.node;
  }

  protected handleRequest(request: DiscoveryRequest, node: NodeIdentity): void {
    const typeUrl = request.type_url;
    if (typeof typeUrl !== 'string' || typeUrl === '') throw new BadRequest('DiscoveryRequest.type_url is required on an aggregated stream');
    if (!isResourceTypeUrl(typeUrl)) {
      // Envoy asks for types it knows we may not serve; staying silent is what it expects.
      this.log.debug({ node: node.id, typeUrl }, 'request for a type this control plane does not serve');
      return;
    }
    const names = request.resource_names ?? [];
    if (!Array.isArray(names) || names.some((name) => typeof name !== 'string')) throw new BadRequest('resource_names must be strings');
    const max = this.settings.maxResourceNamesPerType;
    if (names.length > max) {
      throw new LimitExceeded(`DiscoveryRequest for ${typeUrl}: resource_names has ${names.length} names, more than the ${max} a stream may subscribe to per type`);
    }
    const nonce = request.response_nonce ?? '';
    let state = this.types.get(typeUrl);
    if (state === undefined) {
      state = {
        sentVersion: null,
        ackedVersion: request.version_info ? request.version_info : null,
        nackMessage: null,
        nonce: null,
        wildcard: false,
        names: new Set(),
        knownVersion: request.version_info ?? '',
        answered: false,
      };
      this.types.set(typeUrl, state);
    } else if (nonce !== '' && nonce !== state.nonce) {
      return; // answers a response we have since superseded
    }

    let nacked = false;
    // Once per response, as delta does per nonce: Envoy repeats a nonce only to change subscriptions (its error_detail
    // cleared after the NACK), so a repeat is no new verdict; answering each would let one NACK count (and log) forever.
    if (nonce !== '' && state.nonce === nonce && !state.answered) {
      state.answered = true;
      if (request.error_detail !== undefined && request.error_detail !== null) {
        nacked = true;
        state.nackMessage = nackMessage(request.error_detail);
        this.notify('onNack', typeUrl, request.version_info ?? '', state.nackMessage);
      } else {
        state.ackedVersion = request.version_info ?? '';
        state.nackMessage = null;
        this.notify('onAck', typeUrl, state.ackedVersion);
      }
    }

    const addedNames = this.subscribe(typeUrl, state, names);
    const snapshot = this.cache.getSnapshot(node.id);
    const version = snapshot?.version(typeUrl);
    if (snapshot === undefined || version === undefined) return;
    // After a NACK wait for a new version, unless the proxy now wants more resources.
    if ((addedNames || (!nacked && version !== state.knownVersion)) && !this.deferIfBlocked(typeUrl)) this.respond(typeUrl, state, snapshot, version);
  }

  protected pushDeferred(typeUrl: string, state: SotwTypeState, snapshot: Snapshot): void {
    const version = snapshot.version(typeUrl);
    if (version !== undefined) this.respond(typeUrl, state, snapshot, version);
  }

  protected onSnapshot(snapshot: Snapshot): void {
    for (const typeUrl of PUSH_ORDER) {
      const state = this.types.get(typeUrl);
      const version = snapshot.version(typeUrl);
      if (state === undefined || version === undefined || version === state.knownVersion) continue;
      if (!this.deferIfBlocked(typeUrl)) this.respond(typeUrl, state, snapshot, version);
    }
  }

  /** Updates the subscription; true when the proxy now wants something it was not sent. */
  private subscribe(typeUrl: string, state: SotwTypeState, names: readonly string[]): boolean {
    const wildcard = names.includes('*') || (names.length === 0 && isWildcardType(typeUrl));
    let added = wildcard && !state.wildcard;
    if (!wildcard) {
      for (const name of names) if (!state.names.has(name)) added = true;
    }
    state.wildcard = wildcard;
    state.names = wildcard ? new Set() : new Set(names);
    return added && state.sentVersion !== null;
  }

  private respond(typeUrl: string, state: SotwTypeState, snapshot: Snapshot, version: string): void {
    const encoded = snapshot.encodedType(typeUrl)!;
    const nonce = this.nextNonce();
    this.send(
      Buffer.concat([
        stringField(1, version),
        sotwBody(encoded, state.wildcard ? undefined : state.names),
        stringField(4, typeUrl),
        stringField(5, nonce),
        CONTROL_PLANE,
      ]),
    );
    state.sentVersion = version;
    state.knownVersion = version;
    state.nonce = nonce;
    state.answered = false;
  }
}
