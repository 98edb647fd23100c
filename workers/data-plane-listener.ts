// A listening port of this worker. Every worker opens its own SO_REUSEPORT
// socket on the same address (the agent resolved port 0 to one real port
// first), so the kernel spreads connections and each one lives in one worker.
// The addon accepts (native/connection_acceptor.cc): when the process runs
// out of file descriptors, accepting pauses until a connection closes, and
// connections over --max-connections are closed as soon as they are accepted.
import type { Listener } from '../src/config/bootstrap-types.js';
import { closeFd, listenReusePort, resumeAccepting, startAccepting, stopAccepting, type Acceptor } from '../src/native.js';
import { DownstreamConnection } from './downstream-connection.js';
import { TlsContextCache, type ListenerChains } from './listener-chains.js';
import type { PausedAcceptor, WorkerContext } from './worker-context.js';

const BACKLOG = 511;

export class DataPlaneListener implements PausedAcceptor {
  private readonly acceptor: Acceptor;
  private readonly name: string;
  private idleTimeoutMs: number;
  private headersTimeoutMs: number;
  private readonly tlsContexts = new TlsContextCache();
  /** null when the listener is one plaintext HTTP chain (the common case: nothing to choose). */
  private chains: ListenerChains | null;

  constructor(
    config: Listener,
    private readonly worker: WorkerContext,
  ) {
    this.name = config.name;
    this.idleTimeoutMs = config.streamIdleTimeoutMs;
    this.headersTimeoutMs = config.requestHeadersTimeoutMs;
    this.chains = this.chainsOf(config);
    const bound = listenReusePort(config.address.address, config.address.port, BACKLOG);
    this.acceptor = startAccepting(bound.fd, this.onAccept.bind(this));
  }

  /** Same address, new settings: applies to connections accepted from now on. */
  update(config: Listener): void {
    this.idleTimeoutMs = config.streamIdleTimeoutMs;
    this.headersTimeoutMs = config.requestHeadersTimeoutMs;
    this.chains = this.chainsOf(config);
  }

  private chainsOf(config: Listener): ListenerChains | null {
    const chains = this.tlsContexts.chainsFor(config);
    return chains.inspect || chains.anyTls || chains.anyTcp ? chains : null;
  }

  /** A new connection's fd, or a negative errno when accepting paused for lack of descriptors. */
  private onAccept(fd: number): void {
    if (fd < 0) {
      this.worker.acceptPaused(this);
      return;
    }
    if (!this.worker.connectionLimit.tryAcquire()) {
      closeFd(fd);
      this.worker.downstreamCxOverflow++;
      return;
    }
    try {
      new DownstreamConnection(fd, this.name, this.worker, this.idleTimeoutMs, this.headersTimeoutMs, this.chains);
    } catch {
      // the fd is not a usable TCP socket (cannot happen for an accepted one): drop it, never crash
      this.worker.connectionLimit.release();
      closeFd(fd);
    }
  }

  resumeAccepting(): void {
    resumeAccepting(this.acceptor);
  }

  /** Stops accepting; open connections carry on. */
  close(): void {
    this.worker.forgetAcceptor(this);
    stopAccepting(this.acceptor);
  }
}
