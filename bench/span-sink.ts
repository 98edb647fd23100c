// The tracing scenario's Zipkin collector: accepts every report (202) and
// keeps nothing, as cheaply as an HTTP/1.1 server can (frames each POST by its
// Content-Length and skips the body; no JSON parse), in its own process so its
// CPU is sampled apart from the proxy's and the load generator's (a real
// Zipkin runs on another machine; here it shares the cores, so it must cost
// little). It counts the spans it received (each span object of Zipkin v2 JSON
// starts with `{"traceId":"`, found by Buffer.indexOf, across chunk ends too),
// so the bench can check that a traced row really sent them.
// Usage: node span-sink.js. Prints {"msg":"span sink ready","port":N};
// `GET /stats` answers {"connections":N,"reports":M,"spans":S} (not counted
// as a report); on SIGUSR2 prints {"msg":"span sink stats",...the same};
// SIGTERM/SIGINT stop it.
import net from 'node:net';

const ACCEPTED = Buffer.from('HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n', 'latin1');
/** A report head longer than this is not one the proxy sends: the connection ends. */
const MAX_HEAD_BYTES = 8192;
/** What starts each span object (the writer puts traceId first, as Zipkin's own JSON does). */
const SPAN_START = Buffer.from('{"traceId":"', 'latin1');

let connections = 0;
let reports = 0;
let spans = 0;

/** One collector connection: reads request heads, counts spans in the bodies, answers each. */
class SinkConnection {
  private head = '';
  private bodyLeft = 0;
  /** The last SPAN_START.length - 1 bytes of the body so far (a span start split over two chunks). */
  private carry = Buffer.alloc(0);

  constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => socket.destroy());
  }

  private onData(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - at);
        this.countSpans(chunk.subarray(at, at + take));
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
      const head = this.head.slice(0, end + 2);
      at += end + 4 - before;
      this.head = '';
      this.carry = Buffer.alloc(0);
      if (head.startsWith('GET /stats ')) {
        const body = JSON.stringify({ connections, reports, spans });
        this.socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        continue;
      }
      const m = /\r\ncontent-length:[ \t]*(\d{1,9})/i.exec(head);
      this.bodyLeft = m === null ? 0 : Number(m[1]);
      if (this.bodyLeft === 0) answer(this.socket);
    }
  }

  private countSpans(part: Buffer): void {
    const keep = SPAN_START.length - 1;
    if (this.carry.length > 0) {
      // Only a start that begins in the carry: one wholly inside `part` is found below.
      const seam = Buffer.concat([this.carry, part.subarray(0, keep)]);
      const i = seam.indexOf(SPAN_START);
      if (i >= 0 && i < this.carry.length) spans++;
    }
    for (let i = part.indexOf(SPAN_START); i >= 0; i = part.indexOf(SPAN_START, i + SPAN_START.length)) spans++;
    this.carry = part.length >= keep ? Buffer.from(part.subarray(part.length - keep)) : Buffer.concat([this.carry, part]).subarray(-keep);
  }
}

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
  process.stdout.write(`${JSON.stringify({ msg: 'span sink stats', connections, reports, spans })}\n`);
});
process.on('SIGINT', stop);
