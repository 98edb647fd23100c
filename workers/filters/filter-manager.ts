// Runs one request's HTTP filter chain (Envoy's FilterManager, decode side and
// response heads only): decodeHeaders through the filters in chain order until
// one stops, then the router (the owner's terminal step). A stopped chain waits
// for the filter that stopped it to call continueDecoding(), or for the request
// to end. Body pieces, the end of the body and the response head reach only the
// filters whose decodeHeaders has run, in the order they ran. Made per request,
// and only for a route that has filters: a route without any goes straight to
// the router.
import { FilterStatus, type HttpFilter, type HttpFilterCallbacks, type HttpFilterFactory, type ResponseHeaderEdit } from './http-filter.js';

/** The request the chain runs for (ActiveRequest). */
export interface FilterChainOwner {
  /** The request has been answered or has failed: the chain goes no further. */
  readonly finished: boolean;
  /** The parsed request head the filters read (see keepHead). */
  readonly headBuf: Buffer | null;
  readonly headFields: Uint32Array | null;
  /** A filter stopped the chain: the head must outlive the read buffer it was parsed in (copied once). */
  keepHead(): void;
  /** The chain ran through: the router's turn (the terminal filter). */
  decodeHeadersToRouter(): void;
}

export class FilterManager {
  /** How many filters' decodeHeaders has run (or is running); those see data, completion and the response head. */
  private reached = 0;
  private stopped = false;

  private constructor(
    private readonly owner: FilterChainOwner,
    private readonly filters: readonly HttpFilter[],
  ) {}

  /** The per-request filters of a route's chain, each given `callbacks` (the request). */
  static create(owner: FilterChainOwner, factories: readonly HttpFilterFactory[], callbacks: HttpFilterCallbacks): FilterManager {
    const filters = new Array<HttpFilter>(factories.length);
    for (let i = 0; i < factories.length; i++) filters[i] = factories[i]!.create(callbacks);
    return new FilterManager(owner, filters);
  }

  /** The head arrived: run the chain from its first filter. */
  decodeHeaders(): void {
    this.iterate();
  }

  /** The filter that stopped the chain lets it go on: the next filter, then the router. */
  continueDecoding(): void {
    if (!this.stopped || this.owner.finished) return;
    this.stopped = false;
    this.iterate();
  }

  /** Whether the chain has not reached the router yet (a filter stopped it): body pieces wait for the router. */
  get waiting(): boolean {
    return this.stopped;
  }

  private iterate(): void {
    const filters = this.filters;
    const owner = this.owner;
    while (this.reached < filters.length) {
      const filter = filters[this.reached++]!;
      const status = filter.decodeHeaders(owner.headBuf!, owner.headFields!);
      if (owner.finished) return; // the filter answered (a preflight, an abort)
      if (status === FilterStatus.STOP_ITERATION) {
        this.stopped = true;
        owner.keepHead();
        return;
      }
    }
    owner.decodeHeadersToRouter();
  }

  decodeData(piece: Buffer): void {
    const filters = this.filters;
    for (let i = 0; i < this.reached; i++) filters[i]!.decodeData(piece);
  }

  decodeComplete(): void {
    const filters = this.filters;
    for (let i = 0; i < this.reached; i++) filters[i]!.decodeComplete();
  }

  /** The response head: the filters that ran, last first (Envoy's encode order). */
  encodeHeaders(edit: ResponseHeaderEdit): void {
    const filters = this.filters;
    for (let i = this.reached - 1; i >= 0; i--) filters[i]!.encodeHeaders(edit);
  }

  /** The request is over: every filter that ran lets go of what it holds. */
  destroy(): void {
    const filters = this.filters;
    for (let i = 0; i < this.reached; i++) filters[i]!.onDestroy();
  }
}
