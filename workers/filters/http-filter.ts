// The HTTP filter interface (Envoy's StreamDecoderFilter / StreamEncoderFilter,
// only what we use). A filter is built per route from config, once per config
// version (an HttpFilterFactory), and makes one HttpFilter per request on a
// route that has it. The FilterManager (filter-manager.ts) calls the filters in
// chain order; a filter never calls the next one. decodeHeaders returns
// CONTINUE (the next filter runs) or STOP_ITERATION (the chain waits): a filter
// that stopped resumes the chain itself with callbacks.continueDecoding() (a
// fault delay's timer) or ends the request with callbacks.sendLocalReply() (a
// CORS preflight, a fault abort). The router (router/router.ts) is the chain's
// terminal step: it runs when every filter has let the request through.
//
// A new filter (ext_authz, tracing, rate limit, compression) is a folder
// workers/filters/<name>/ with its config and filter, and one entry in
// compileListenerFilters (route-filters.ts): no branch in the request path.
import type { RequestView } from '../../src/routing/request-view.js';
import type { UpstreamCluster } from '../upstream-cluster.js';
import type { FilterAnswer } from './filter-answer.js';

export const FilterStatus = {
  /** The next filter runs. */
  CONTINUE: 0,
  /** The chain waits until this filter calls continueDecoding() (or answers with sendLocalReply()). */
  STOP_ITERATION: 1,
} as const;
export type FilterStatus = (typeof FilterStatus)[keyof typeof FilterStatus];

/** What a filter may ask of its request (Envoy's StreamDecoderFilterCallbacks). */
export interface HttpFilterCallbacks extends RequestView {
  /** Resumes a chain this filter stopped: the next filter's decodeHeaders runs (then the router). */
  continueDecoding(): void;
  /** Answers the request now (the router never runs; answer.flag is recorded); the response still passes the filters' encodeHeaders. */
  sendLocalReply(answer: FilterAnswer): void;
  /** Adds response flag bits (ResponseFlag) for the access log and stats. */
  addResponseFlag(flag: number): void;
  /** The config version's clusters (for filters that send requests of their own, as the mirror does). */
  readonly clusters: ReadonlyMap<string, UpstreamCluster>;
  /** The head the router will send upstream (built on first use); null when the router will refuse the request. */
  upstreamHead(): Buffer | null;
  /** Request body pieces received so far (framed for upstream); null once too large to keep. */
  bodySoFar(): readonly Buffer[] | null;
  /** The whole request body has been received. */
  readonly requestComplete: boolean;
  /** The request has been answered or has failed (a filter waiting on a callback checks it before going on). */
  readonly finished: boolean;
  /** Adds header lines (each ending in CRLF) to the request the router sends upstream; only before the router runs. */
  addUpstreamRequestHeaders(lines: string): void;
  /** Drops a header (lowercase name) from the request the router sends upstream; only before the router runs. */
  removeUpstreamRequestHeader(name: string): void;
}

/** A response head on its way to the client: filters add lines or names to drop (Envoy's encodeHeaders, reduced). */
export interface ResponseHeaderEdit {
  /** Header names dropped from the upstream's head; null for none. */
  remove: readonly string[] | null;
  /** Header lines added, each ending in CRLF. */
  add: string;
  /** The upstream's parsed response head (findHeader over head/fields), valid during the call; null for a local reply. */
  head: Buffer | null;
  fields: Uint32Array | null;
  status: number;
  /** How the upstream frames the body (BodyMode: NONE, LENGTH, CHUNKED, CLOSE). */
  bodyMode: number;
  /** A filter that rewrites the body (compression) sets it: the body then goes out chunked through it. */
  body: ResponseBodyTransform | null;
}

/** Where a body transform sends what it made (the request). */
export interface ResponseBodySink {
  /** Transformed bytes (not empty); false when the client's socket is full (call pause on the transform's source). */
  onTransformedData(piece: Buffer): boolean;
  /** The transform made its last bytes: the response ends. */
  onTransformedEnd(): void;
  /** The transform failed: the response is cut. */
  onTransformFailed(): void;
  /** The transform can take more input again (after write returned false). */
  onTransformDrained(): void;
}

/** A response body rewritten on its way (Envoy's encodeData with a compressor), asynchronously and streaming. */
export interface ResponseBodyTransform {
  /** Binds the output; called once before the first write. */
  start(sink: ResponseBodySink): void;
  /** A body piece (a copy the transform may keep); false when it holds enough: the upstream should pause. */
  write(piece: Buffer): boolean;
  /** The upstream's body ended: flush; onTransformedEnd follows. */
  end(): void;
  /** The client can take more: output may flow again. */
  resume(): void;
}

/** One filter's part in one request. `head`/`fields`: the parsed request head, valid only during the call. */
export interface HttpFilter {
  decodeHeaders(head: Buffer, fields: Uint32Array): FilterStatus;
  /** A request body piece (framed for upstream); only after this filter's decodeHeaders ran. */
  decodeData(piece: Buffer): void;
  /** The request body is complete; only after this filter's decodeHeaders ran. */
  decodeComplete(): void;
  /** The response head (from the upstream or a local reply); only after this filter's decodeHeaders ran. */
  encodeHeaders(edit: ResponseHeaderEdit): void;
  /** The request is over (answered, failed or abandoned): release timers and whatever else it holds. */
  onDestroy(): void;
}

/** A filter's compiled config for one route: makes the per-request filter. */
export interface HttpFilterFactory {
  /** Envoy's filter name (envoy.filters.http.fault, ...). */
  readonly name: string;
  create(callbacks: HttpFilterCallbacks): HttpFilter;
}

/** The no-op hooks, so a filter writes only the ones it needs (and every call site stays monomorphic in shape). */
export abstract class PassThroughFilter implements HttpFilter {
  abstract decodeHeaders(head: Buffer, fields: Uint32Array): FilterStatus;
  decodeData(_piece: Buffer): void {}
  decodeComplete(): void {}
  encodeHeaders(_edit: ResponseHeaderEdit): void {}
  onDestroy(): void {}
}
