// A fire-and-forget copy of a request to a shadow cluster (route
// request_mirror_policies): the primary's upstream head with the host
// suffixed "-shadow", then its body as it streams. The shadow's response is
// read and dropped. Nothing here can touch the primary: the mirror never
// pauses the client, never answers it, and when the shadow is slower than the
// client, the copy is dropped instead of buffered without bound.
import { NO_HASH } from '../../balancers/balancer.js';
import type { UpstreamCluster } from '../../upstream-cluster.js';
import type { UpstreamAttempt, UpstreamConnection, UpstreamStream } from '../../upstream-connection.js';
import type { UpstreamEndpoint } from '../../upstream-endpoint.js';
import { timerDelay } from '../../../src/timer-delay.js';

/** Body bytes a mirror may hold (waiting to connect, or unflushed in a full socket) before it gives up. */
export const MIRROR_BUFFER_LIMIT = 256 * 1024;
/** A shadow's time bound when the route has no timeout (Envoy's default route timeout). */
const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * Envoy's shadowAppendedHost: "-shadow" before the port when there is one
 * ("foo" -> "foo-shadow", "foo:8080" -> "foo-shadow:8080", "[::1]:80" -> "[::1]-shadow:80").
 */
export function shadowHost(host: string): string {
  const colon = host.lastIndexOf(':');
  const bracket = host.lastIndexOf(']');
  if (colon < 0 || (bracket >= 0 && bracket > colon)) return host + '-shadow';
  return host.slice(0, colon) + '-shadow' + host.slice(colon);
}

/** The primary's upstream head (request line, then "host: ..." first, as encodeUpstreamHead writes it) with the host suffixed. */
export function shadowHead(head: Buffer): Buffer {
  const lineEnd = head.indexOf('\r\n');
  const hostStart = lineEnd + 8; // "\r\nhost: "
  const hostEnd = head.indexOf('\r\n', hostStart);
  if (lineEnd < 0 || hostEnd < 0 || head.latin1Slice(lineEnd, hostStart) !== '\r\nhost: ') return head;
  const host = shadowHost(head.latin1Slice(hostStart, hostEnd));
  const out = Buffer.allocUnsafe(head.length - (hostEnd - hostStart) + host.length);
  head.copy(out, 0, 0, hostStart);
  let pos = hostStart + out.latin1Write(host, hostStart);
  pos += head.copy(out, pos, hostEnd);
  return out;
}

function onMirrorTimeout(mirror: RequestMirror): void {
  mirror.timedOut();
}

export class RequestMirror implements UpstreamStream {
  /** The connection (or, before one is ready, the endpoint's pending attempt). */
  private conn: UpstreamAttempt | null = null;
  private ready = false;
  /** Body pieces waiting for the connection. */
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  /** The socket said it is full: bytes written since then, until it drains. */
  private blocked = false;
  private unflushed = 0;
  /** The primary's request body is complete (so is ours once written). */
  private requestEnded: boolean;
  private done = false;
  private timer: NodeJS.Timeout | null;

  /**
   * Starts a copy to one endpoint of `cluster` (picked by its balancer); null when it has none.
   * `body`: the pieces the primary received so far (already framed for upstream).
   */
  static start(
    cluster: UpstreamCluster,
    upstreamHead: Buffer,
    body: readonly Buffer[],
    requestComplete: boolean,
    timeoutMs: number,
  ): RequestMirror | null {
    const endpoint = cluster.pick(NO_HASH, null);
    if (endpoint === null) return null;
    return new RequestMirror(endpoint, shadowHead(upstreamHead), body, requestComplete, timeoutMs);
  }

  private constructor(
    private readonly endpoint: UpstreamEndpoint,
    private readonly head: Buffer,
    body: readonly Buffer[],
    requestComplete: boolean,
    timeoutMs: number,
  ) {
    this.requestEnded = requestComplete;
    for (let i = 0; i < body.length; i++) {
      this.queued.push(body[i]!);
      this.queuedBytes += body[i]!.length;
    }
    endpoint.rqActive++;
    endpoint.rqTotal++;
    const counters = endpoint.counters;
    counters.rqActive++;
    counters.rqTotal++;
    this.timer = setTimeout(onMirrorTimeout, timeoutMs > 0 ? timerDelay(timeoutMs) : DEFAULT_TIMEOUT_MS, this);
    this.conn = endpoint.acquire(this);
  }

  /** A body piece of the primary request (framed for upstream). */
  write(piece: Buffer): void {
    if (this.done) return;
    if (!this.ready) {
      this.queued.push(piece);
      this.queuedBytes += piece.length;
      if (this.queuedBytes > MIRROR_BUFFER_LIMIT) this.drop();
      return;
    }
    if (this.blocked) {
      this.unflushed += piece.length;
      if (this.unflushed > MIRROR_BUFFER_LIMIT) {
        this.drop();
        return;
      }
    }
    if (!this.conn!.write(piece)) this.blocked = true;
  }

  /** The primary's request body is complete. */
  endRequest(): void {
    this.requestEnded = true;
    if (this.ready && !this.done) this.conn!.endRequest();
  }

  /** The primary is over: a copy whose request never completed is incomplete, so it goes. */
  primaryDone(): void {
    if (!this.requestEnded) this.drop();
  }

  get finished(): boolean {
    return this.done;
  }

  timedOut(): void {
    this.timer = null;
    if (this.done) return;
    this.endpoint.counters.rqTimeout++;
    this.drop();
  }

  // ---- UpstreamStream ----

  onUpstreamReady(conn: UpstreamConnection): void {
    this.conn = conn;
    this.ready = true;
    conn.headRequest = this.head.latin1Slice(0, 5) === 'HEAD ';
    let writable = conn.write(this.head);
    const queued = this.queued;
    for (let i = 0; i < queued.length; i++) writable = conn.write(queued[i]!);
    this.queued = [];
    this.queuedBytes = 0;
    if (!writable) this.blocked = true;
    if (this.requestEnded) conn.endRequest();
  }

  onUpstreamResponseHead(): void {}

  onUpstreamBody(): void {}

  onUpstreamReadEnd(): void {}

  onUpstreamWritable(): void {
    this.blocked = false;
    this.unflushed = 0;
  }

  onUpstreamResponseEnd(): void {
    this.conn = null; // released to the pool (or closed) by the connection
    this.finish(false);
  }

  onUpstreamFailure(): void {
    this.conn = null;
    this.finish(true);
  }

  /** Gives up on the copy: its connection is closed (the upstream sees a reset). */
  private drop(): void {
    const conn = this.conn;
    this.conn = null;
    this.finish(true);
    if (conn !== null) conn.abandon();
  }

  private finish(failed: boolean): void {
    if (this.done) return;
    this.done = true;
    this.queued = [];
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const endpoint = this.endpoint;
    endpoint.rqActive--;
    endpoint.counters.rqActive--;
    if (failed) endpoint.rqError++;
  }
}
