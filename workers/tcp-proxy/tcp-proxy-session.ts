// One downstream connection served by a tcp_proxy filter chain: picks a
// cluster (weighted_clusters: per connection), connects to a host within the
// cluster's max_connections (trying up to max_connect_attempts hosts; each
// failed connect counts for outlier detection), then relays bytes both ways.
// Backpressure: a write that returns false pauses the other side's reads
// until the writer drains, so nothing is buffered without bound; bytes that
// arrive while connecting are kept (reads pause at once). Half-close: a FIN
// from either side half-closes the other, and the connection ends when both
// directions are done. idle_timeout closes both when no byte moved for that long.
import { NO_HASH } from '../balancers/balancer.js';
import { NativeSocket } from '../native-transport.js';
import { retain } from '../shared-read-buffer.js';
import { openTls, type TlsLink, type TlsOwner } from '../tls-channel.js';
import { jsonEscape } from '../access-log-line.js';
import { connectSocket, type SocketOwner, type TransportSocket } from '../transport-socket.js';
import type { UpstreamCluster } from '../upstream-cluster.js';
import type { UpstreamEndpoint } from '../upstream-endpoint.js';
import type { WorkerContext } from '../worker-context.js';
import type { TcpProxyConfig } from '../../src/config/tcp-proxy.js';
import type { TcpProxySeries } from '../../src/stats/tcp-proxy-stats.js';
import type { ConnectionSecurity } from '../../src/stats/worker-stats-snapshot.js';

/** What the session needs of its downstream connection (DownstreamConnection implements it). */
export interface TcpDownstream {
  readonly remoteAddress: string;
  /** The connection's mTLS peer and policy for Istio's TCP metrics (null: unknown); known once its handshake is done. */
  readonly security: ConnectionSecurity | null;
  /** Writes buf[start, end) (valid only during the call: copied if the transport would keep it); false = wait for drain. */
  writeRange(buf: Buffer, start: number, end: number): boolean;
  pauseReading(): void;
  resumeReading(): void;
  /** Half-closes our side after what is queued. */
  halfClose(): void;
  destroy(): void;
}

/** Response flags for the access log, as Envoy names them. */
const FLAG_NONE = '-';

export class TcpProxySession implements SocketOwner, TlsOwner {
  private upstream: TransportSocket | null = null;
  /** TLS origination (the cluster's transport_socket): bytes are relayed once its handshake is done. */
  private tls: TlsLink | null = null;
  /** Writes to the upstream must copy (Node's net keeps a reference to what it could not write at once). */
  private upstreamCopies = false;
  private endpoint: UpstreamEndpoint | null = null;
  private cluster: UpstreamCluster | null = null;
  private series: TcpProxySeries;
  private connected = false;
  private attempts = 0;
  /** Bytes read before the upstream connected (reads pause at once, so a few reads at most). */
  private early: Buffer[] | null = [];
  private downstreamEnded = false;
  private upstreamEnded = false;
  private downstreamPaused = false;
  private upstreamPaused = false;
  private downstreamClosed = false;
  private readonly startTime = Date.now();
  private flags = FLAG_NONE;
  /** This connection's bytes from and to the downstream (the access log's). */
  private received = 0;
  private sent = 0;

  constructor(
    private readonly down: TcpDownstream,
    private readonly config: TcpProxyConfig,
    private readonly worker: WorkerContext,
    /** Bytes for the upstream before any from the downstream (an upgraded request's head). */
    first: Buffer | null = null,
    /** Bytes for the downstream once the upstream connected (CONNECT's 200). */
    private readonly connectReply: Buffer | null = null,
  ) {
    if (first !== null) this.early!.push(first);
    const clusterName = pickCluster(config);
    this.cluster = worker.snapshot.clusters.get(clusterName) ?? null;
    this.series = worker.tcpStats.series(config.statPrefix, this.cluster === null ? '' : clusterName, down.security);
    this.series.cxOpened++;
    if (this.cluster === null) {
      this.series.noRoute++;
      this.flags = 'NR';
      down.destroy();
      return;
    }
    down.pauseReading();
    this.connect();
  }

  private connect(): void {
    const cluster = this.cluster!;
    const endpoint = cluster.pick(NO_HASH, this.endpoint);
    if (endpoint === null) {
      this.series.noRoute++;
      this.flags = 'UH';
      this.down.destroy();
      return;
    }
    // max_connections counts tcp_proxy connections with the cluster's HTTP ones, across workers.
    if (!endpoint.cluster.mayConnect()) {
      this.flags = 'UO';
      this.down.destroy();
      return;
    }
    this.attempts++;
    this.endpoint = endpoint;
    const counters = endpoint.counters;
    counters.cxTotal++;
    counters.cxActive++;
    endpoint.cxActive++;
    endpoint.cluster.connectionOpened();
    const socket = connectSocket(endpoint.address, endpoint.port, this, endpoint.connectTimeoutMs);
    this.upstream = socket;
    this.upstreamCopies = !(socket instanceof NativeSocket);
    socket.allowHalfOpen();
  }

  /** Plaintext bytes from the downstream, valid only during this call. */
  onDownstreamData(buf: Buffer, start: number, end: number): void {
    this.series.rxBytes += end - start;
    this.received += end - start;
    if (!this.connected) {
      this.early?.push(retain(buf, start, end));
      this.down.pauseReading();
      return;
    }
    if (!this.writeUpstream(this.upstreamCopies && this.tls === null ? retain(buf, start, end) : buf.subarray(start, end)) && !this.downstreamPaused) {
      this.downstreamPaused = true;
      this.series.pausedReading++;
      this.down.pauseReading();
    }
  }

  onDownstreamWritable(): void {
    if (this.upstreamPaused) {
      this.upstreamPaused = false;
      this.upstream?.resume();
    }
  }

  onDownstreamEnd(): void {
    this.downstreamEnded = true;
    if (this.connected) this.endUpstream();
  }

  private writeUpstream(data: Buffer): boolean {
    return this.tls !== null ? this.tls.write(data) : this.upstream!.write(data);
  }

  private endUpstream(): void {
    if (this.tls !== null) this.tls.end();
    else this.upstream!.shutdown();
  }

  /** idle_timeout on the downstream socket (it sees every byte either way). */
  onIdleTimeout(): void {
    this.series.idleTimeout++;
    this.closeBoth();
  }

  onDownstreamClosed(): void {
    this.downstreamClosed = true;
    this.series.cxClosed++;
    // Both directions done: the upstream socket finishes its queue and closes by itself; otherwise it is cut.
    if (this.upstream !== null && !(this.downstreamEnded && this.upstreamEnded)) this.upstream.close();
    this.early = null;
    if (this.config.accessLog) this.log();
  }

  private closeBoth(): void {
    this.upstream?.close();
    this.down.destroy();
  }

  // ---- the upstream socket

  onSocketConnect(): void {
    const tls = this.endpoint!.tls;
    if (tls === null) {
      this.onConnected();
      return;
    }
    this.tls = openTls(tls.context, this.upstream!, this, tls.sni);
    this.tls.start();
  }

  onTlsHandshake(): void {
    this.onConnected();
  }

  onTlsPlaintext(buf: Buffer, start: number, end: number): void {
    this.onUpstreamPlain(buf, start, end);
  }

  /** A refused certificate or broken TLS: before the handshake it is a connect failure (onSocketClose follows). */
  onTlsFailure(): void {
    if (!this.connected) this.endpoint!.counters.tlsHandshakeFailures++;
    this.upstream?.close();
  }

  /** The upstream carries bytes from now on (TCP connected, and the TLS handshake done when there is TLS). */
  private onConnected(): void {
    this.connected = true;
    const up = this.upstream!;
    if (this.connectReply !== null) this.down.writeRange(this.connectReply, 0, this.connectReply.length);
    if (this.config.idleTimeoutMs > 0) up.setTimeout(this.config.idleTimeoutMs);
    const early = this.early;
    this.early = null;
    let full = false;
    if (early !== null) for (const b of early) full = !this.writeUpstream(b);
    if (this.downstreamEnded) this.endUpstream();
    if (full) {
      this.downstreamPaused = true;
      this.series.pausedReading++;
    } else {
      this.down.resumeReading();
    }
  }

  onSocketData(buf: Buffer, start: number, end: number): void {
    if (this.tls !== null) this.tls.receive(buf, start, end);
    else this.onUpstreamPlain(buf, start, end);
  }

  /** Bytes from the upstream (read, or decrypted), valid only during this call. */
  private onUpstreamPlain(buf: Buffer, start: number, end: number): void {
    this.series.txBytes += end - start;
    this.sent += end - start;
    if (!this.down.writeRange(buf, start, end) && !this.upstreamPaused) {
      this.upstreamPaused = true;
      this.upstream!.pause();
    }
  }

  onSocketWritable(): void {
    if (this.downstreamPaused) {
      this.downstreamPaused = false;
      this.series.resumedReading++;
      this.down.resumeReading();
    }
  }

  onSocketEnd(): void {
    this.upstreamEnded = true;
    this.down.halfClose();
  }

  onSocketTimeout(): void {
    this.series.idleTimeout++;
    this.closeBoth();
  }

  onSocketClose(): void {
    this.tls?.free();
    this.tls = null;
    const endpoint = this.endpoint!;
    endpoint.counters.cxActive--;
    endpoint.cxActive--;
    endpoint.cluster.connectionClosed();
    endpoint.connectionClosed();
    this.upstream = null;
    if (this.downstreamClosed) return;
    if (!this.connected) {
      endpoint.counters.cxConnectFail++;
      // A connect failure is a local-origin failure for outlier detection, as in Envoy's tcp_proxy.
      endpoint.health.recordLocalFailure();
      if (this.attempts < this.config.maxConnectAttempts) {
        this.connect();
        return;
      }
      this.series.connectAttemptsExceeded++;
      this.flags = 'UF';
      this.down.destroy();
      return;
    }
    // Closed without its FIN (reset, error): the downstream is cut too; after a FIN the downstream half-closed already.
    if (!this.upstreamEnded) this.down.destroy();
  }

  /** One line per connection in the default access log's JSON shape (the HTTP fields empty), when it is on. */
  private log(): void {
    const log = this.worker.accessLog;
    if (!log.enabled) return;
    const ep = this.endpoint;
    log.append('{"level":30,"log":"access","start_time":"' + new Date(this.startTime).toISOString()
      + '","protocol":"TCP","response_flags":"' + (this.flags === '' ? '-' : this.flags)
      + '","bytes_received":' + this.received + ',"bytes_sent":' + this.sent + ',"duration":' + (Date.now() - this.startTime)
      + ',"upstream_host":' + (ep === null ? 'null' : '"' + jsonEscape(ep.hostPort) + '"')
      + ',"upstream_cluster":' + (this.cluster === null ? 'null' : '"' + jsonEscape(this.cluster.name) + '"') + '}\n');
  }
}

/** weighted_clusters: a cluster by weight, per connection. */
export function pickCluster(config: Pick<TcpProxyConfig, 'clusters' | 'totalWeight'>): string {
  const clusters = config.clusters;
  if (clusters.length === 1) return clusters[0]!.name;
  let r = Math.floor(Math.random() * config.totalWeight);
  for (const c of clusters) {
    if (r < c.weight) return c.name;
    r -= c.weight;
  }
  return clusters[clusters.length - 1]!.name;
}
