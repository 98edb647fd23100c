// A Fluentd forward input for tests: a TCP server decoding msgpack, accepting
// the Message, Forward and PackedForward modes. With the adapter's extension
// codec EventTime decodes to its class; without one it stays the wire's
// ExtData of type 0 (what an e2e test checks, independent of our codec).
import { decodeMulti, decodeMultiStream, type ExtensionCodec } from '@msgpack/msgpack';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface ForwardEntry<T> {
  tag: string;
  time: T;
  record: Record<string, unknown>;
}

export class ForwardReceiver<T = unknown> {
  readonly received: ForwardEntry<T>[] = [];
  connections = 0;
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly extensionCodec?: ExtensionCodec) {}

  async listen(port = 0): Promise<number> {
    const server = createServer((socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      void this.read(socket);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  private async read(socket: Socket): Promise<void> {
    const options = this.extensionCodec === undefined ? {} : { extensionCodec: this.extensionCodec };
    try {
      for await (const message of decodeMultiStream(socket, options)) {
        const [tag, second, third] = message as [string, unknown, unknown];
        if (second instanceof Uint8Array) for (const entry of decodeMulti(second, options)) this.push(tag, entry);
        else if (Array.isArray(second)) for (const entry of second) this.push(tag, entry);
        else this.push(tag, [second, third]);
      }
    } catch {
      socket.destroy();
    }
  }

  private push(tag: string, entry: unknown): void {
    const [time, record] = entry as [T, Record<string, unknown>];
    this.received.push({ tag, time, record });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
