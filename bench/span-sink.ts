// The tracing scenario's Zipkin collector: accepts every report (202) and
// keeps nothing, as cheaply as an HTTP/1.1 server can (frames each POST by its
// Content-Length and skips the body; no JSON parse), in its own process so its
// CPU is sampled apart from the proxy's and the load generator's (a real
// Zipkin runs on another machine; here it shares the cores, so it must cost
// little). Usage: node span-sink.js. Prints {"msg":"span sink ready","port":N};
// on SIGUSR2 prints {"msg":"span sink stats","connections":N,"reports":M};
// SIGTERM/SIGINT stop it.
import net from 'node:net';

const ACCEPTED = Buffer.from('HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n', 'latin1');
/** A report head longer than this is not one the proxy sends: the connection ends. */
const MAX_HEAD_BYTES = 8192;

/** One collector connection: reads request heads, skips their bodies, answers each. */
class SinkConnection {
  private head = '';
  private bodyLeft = 0;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        this.bodyLeft -= take;
        at += take;
        if (this.bodyLeft === 0) answer(this.socket);
        continue;
      }
      const before = this.head.length;
      this.head += chunk.latin1Slice(at, Math.min(chunk.length, at + MAX_HEAD_BYTES));
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.head.length >= MAX_HEAD_BYTES) this.socket.destroy();
        return;
      }
      const m = /\r\ncontent-length:[ \t]*(\d{1,9})/i.exec(this.head.slice(0, end + 2));
      at += end + 4 - before;
      this.head = '';
      this.bodyLeft = m === null ? 0 : Number(m[1]);
      if (this.bodyLeft === 0) answer(this.socket);
    }
  }
}

let connections = 0;
let reports = 0;

function answer(socket: net.Socket): void {
  reports++;
  socket.write(ACCEPTED);
}

const server = net.createServer((socket) => {
  connections++;
  new SinkConnection(socket);
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'span sink ready', port: (server.address() as net.AddressInfo).port })}\n`);
});

function stop(): void {
  server.close();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGUSR2', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'span sink stats', connections, reports })}\n`);
});
process.on('SIGINT', stop);
