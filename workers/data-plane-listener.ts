// A listening port of this worker. Every worker opens its own SO_REUSEPORT
// socket on the same address (the agent resolved port 0 to one real port
// first), so the kernel spreads connections and each one lives in one worker.
import * as net from 'node:net';
import type { Listener } from '../src/config/bootstrap-types.js';
import { listenReusePort } from '../src/native.js';
import { DownstreamConnection } from './downstream-connection.js';
import type { WorkerContext } from './worker-context.js';

const BACKLOG = 511;

export class DataPlaneListener {
  private readonly server: net.Server;
  private idleTimeoutMs: number;
  private headersTimeoutMs: number;

  constructor(
    config: Listener,
    private readonly worker: WorkerContext,
  ) {
    this.idleTimeoutMs = config.streamIdleTimeoutMs;
    this.headersTimeoutMs = config.requestHeadersTimeoutMs;
    const bound = listenReusePort(config.address.address, config.address.port, BACKLOG);
    this.server = net.createServer({ noDelay: true }, this.onConnection.bind(this, config.name));
    this.server.on('error', noop);
    this.server.listen({ fd: bound.fd });
  }

  /** Same address, new settings: applies to connections accepted from now on. */
  update(config: Listener): void {
    this.idleTimeoutMs = config.streamIdleTimeoutMs;
    this.headersTimeoutMs = config.requestHeadersTimeoutMs;
  }

  private onConnection(name: string, socket: net.Socket): void {
    new DownstreamConnection(socket, name, this.worker, this.idleTimeoutMs, this.headersTimeoutMs);
  }

  /** Stops accepting; open connections carry on. */
  close(): void {
    this.server.close();
  }
}

function noop(): void {}
