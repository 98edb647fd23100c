// An HTTP/2 server session run by nghttp2 in the addon (native/h2_*.cc) on a
// native transport connection: C++ reads the frames, enforces flow control,
// stream limits and the flood defences, and writes its frames straight to the
// socket; JS gets a batch of per-stream records per read (a request as an
// HTTP/1.1 head, body chunks as offsets into the read buffer, end, close) and
// answers through h2Respond / h2Write / h2End. Each stream then runs the
// HTTP/1.1 request path through an H2StreamConnection.
import {
  H2_EVENT as EV,
  h2Control,
  h2End,
  h2EventCount,
  h2Open,
  h2Receive,
  h2Reset,
  h2Respond,
  h2SetReading,
  h2Write,
} from '../../src/native.js';
import type { Http2Options } from '../../src/config/http2-options.js';
import type { DownstreamConnection } from '../downstream-connection.js';
import type { WorkerContext } from '../worker-context.js';
import { copyRange } from '../header-block.js';
import { parseLimits } from '../parse-scratch.js';
import { copyArenaParse } from './h2-arena-head.js';
import { h2Counters } from './h2-counters.js';
import type { H2ConnectionSession, H2SessionSide, H2StreamBackend } from './h2-stream-backend.js';
import { H2StreamConnection } from './h2-stream-connection.js';
import { TRAILER_BLOCK, trailerFields } from './h1-trailer-block.js';
import { h2EventBuffers, h2Target, setH2Target } from '../../src/native-h2-events.js';
import { StreamIdTable } from './stream-id-table.js';

const NO_ERROR = 0;

export { h2EventBuffers, setH2Target, type H2EventTarget } from '../../src/native-h2-events.js';

let events: Int32Array | null = null;
let arena: Buffer = Buffer.alloc(0);
const settings = new Uint32Array(6);

/** takes nothing; returns this thread's event array (the shared channel, native-h2-events.ts), with `arena` set. */
function ensureInit(): Int32Array {
  if (events === null) ({ events, arena } = h2EventBuffers());
  return events;
}

class NativeH2Stream implements H2StreamBackend {
  closed = false;
  requestEnded = false;
  readonly conn: H2StreamConnection;

  constructor(
    private readonly session: NativeH2Session,
    readonly id: number,
    method: string,
    flags: number,
  ) {
    this.conn = new H2StreamConnection(session, method, (flags & EV.TE_TRAILERS) !== 0, (flags & EV.GRPC) !== 0);
    this.conn.backend = this;
    this.requestEnded = (flags & EV.END_STREAM) !== 0;
  }

  get destroyed(): boolean {
    return this.closed;
  }

  get requestOpen(): boolean {
    return !this.requestEnded && !this.closed;
  }

  respond(headers: Record<string, string | string[] | number>, endStream: boolean, _withTrailers: boolean): void {
    let block = '';
    let status = 200;
    for (const name in headers) {
      const v = headers[name]!;
      if (name === ':status') {
        status = Number(v);
        continue;
      }
      if (Array.isArray(v)) for (const one of v) block += name + '\0' + one + '\0';
      else block += name + '\0' + v + '\0';
    }
    if (this.closed || !h2Respond(this.session.handle, this.id, status, block, endStream)) throw new Error('stream gone or head refused');
  }

  respondHead(buf: Buffer, start: number, end: number, status: number, endStream: boolean): void {
    if (this.closed || !h2Respond(this.session.handle, this.id, status, buf, endStream, start, end)) throw new Error('stream gone or head refused');
  }

  // Each call checks `closed`: after the session is freed its handle may name another session.
  write(data: Buffer): boolean {
    return this.closed || h2Write(this.session.handle, this.id, data) !== 0;
  }

  writeRange(data: Buffer, start: number, end: number): boolean {
    return this.closed || h2Write(this.session.handle, this.id, data, start, end) !== 0;
  }

  end(trailers: Record<string, string> | null): void {
    if (this.closed) return;
    let block: string | undefined;
    if (trailers !== null) {
      block = (trailers as { [TRAILER_BLOCK]?: string })[TRAILER_BLOCK];
      if (block === undefined) {
        block = '';
        for (const name in trailers) block += name + '\0' + trailers[name]! + '\0';
      }
    }
    h2End(this.session.handle, this.id, block);
  }

  close(code: number): void {
    if (this.closed) return;
    // NO_ERROR after a complete answer: nghttp2 would send the RST ahead of queued DATA; the rest of the request body
    // is read (its window kept open) and dropped instead.
    if (code === NO_ERROR) h2SetReading(this.session.handle, this.id, true);
    else h2Reset(this.session.handle, this.id, code);
  }

  pause(): void {
    if (!this.closed) h2SetReading(this.session.handle, this.id, false);
  }

  resume(): void {
    if (!this.closed) h2SetReading(this.session.handle, this.id, true);
  }
}

export class NativeH2Session implements H2ConnectionSession, H2SessionSide {
  readonly handle: number;
  private readonly streams = new StreamIdTable<NativeH2Stream>();
  private over = false;

  /** A session on conn's native socket; handle -1 when the addon could not make one (then unused). */
  constructor(
    readonly conn: DownstreamConnection,
    readonly worker: WorkerContext,
    readonly listenerName: string,
    options: Http2Options,
    connId: number,
  ) {
    ensureInit();
    settings[0] = Math.min(options.maxConcurrentStreams, 0x7fffffff);
    settings[1] = options.initialStreamWindowSize;
    settings[2] = options.initialConnectionWindowSize;
    settings[3] = options.maxHeaderListSize;
    settings[4] = Math.min(options.maxOutboundFrames, 0xffffffff);
    settings[5] = Math.min(options.maxOutboundControlFrames, 0xffffffff);
    this.handle = h2Open(connId, settings);
    if (this.handle >= 0) {
      setH2Target(this.handle, this);
      h2Counters.cxTotal++;
    }
  }

  get remoteAddress(): string {
    return this.conn.remoteAddress;
  }

  streamResetEarly(): void {}

  receive(buf: Buffer, start: number, end: number): void {
    const ev = events!;
    while (start < end && !this.over) {
      const n = h2Receive(this.handle, buf, start, end);
      const count = h2EventCount();
      for (let i = 0, r = 0; i < count; i++, r += EV.RECORD_INTS) this.onEvent(ev, r, buf);
      if (n <= 0) break;
      start += n;
    }
  }

  onEvent(ev: Int32Array, r: number, input: Buffer): void {
    const code = ev[r + 1]!;
    const kind = code & EV.CODE_MASK;
    const id = ev[r + 2]!;
    if (kind === EV.HEAD) {
      this.onHead(id, code, ev[r + 3]!, ev[r + 4]!);
      return;
    }
    if (kind === EV.SESSION_END) {
      this.end(ev[r + 3]! === 1);
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) return;
    if (kind === EV.DATA) s.conn.onData(input, ev[r + 3]!, ev[r + 3]! + ev[r + 4]!);
    else if (kind === EV.DATA_ARENA) s.conn.onData(arena, ev[r + 3]!, ev[r + 3]! + ev[r + 4]!);
    else if (kind === EV.END) {
      s.requestEnded = true;
      const trailerBytes = ev[r + 4]!;
      if (trailerBytes > 0) s.conn.onRequestTrailers(trailerFields(arena.latin1Slice(ev[r + 3]!, ev[r + 3]! + trailerBytes)));
      s.conn.onEnd();
    } else if (kind === EV.DRAIN) s.conn.onDrain();
    else if (kind === EV.CLOSE) {
      s.closed = true;
      this.streams.delete(id);
      s.conn.onClose();
    }
  }

  private onHead(id: number, flags: number, offset: number, length: number): void {
    h2Counters.streamsTotal++;
    // The method, for HEAD's bodiless response: the head starts with it.
    const head = Buffer.allocUnsafe(length);
    // A short head is copied in a loop (Buffer#copy from an offset makes a view per call).
    copyRange(arena, offset, offset + length, head, 0);
    const method = length > 5 && head[4] === 32 && head[0] === 72 && head[1] === 69 && head[2] === 65 && head[3] === 68 ? 'HEAD' : 'GET'; // "HEAD ", no string made
    const s = new NativeH2Stream(this, id, method, flags);
    this.streams.set(id, s);
    if ((flags & (EV.REFUSE_400 | EV.REFUSE_403)) !== 0) {
      s.conn.refuse((flags & EV.REFUSE_403) !== 0 ? 403 : 400);
      return;
    }
    s.conn.startHead(head, (flags & EV.HEAD_PARSED) !== 0 && copyArenaParse(offset, length, parseLimits.maxHeadBytes));
  }

  private end(reset: boolean): void {
    if (this.over) return;
    this.over = true;
    if (reset) this.conn.destroy();
    else this.conn.endConnection();
  }

  onWritable(): void {
    if (!this.over) h2Control(this.handle, 0);
  }

  onClosed(): void {
    this.over = true;
    if (h2Target(this.handle) === this) {
      setH2Target(this.handle, undefined);
      h2Control(this.handle, 2);
    }
    const open = this.streams.values();
    this.streams.clear();
    for (const s of open) {
      s.closed = true;
      s.conn.onClose();
    }
  }

  drain(): void {
    if (!this.over) h2Control(this.handle, 1);
  }
}
