// One unary gRPC call on a stream of the policy port's native HTTP/2 session
// (native-grpc-server.ts): the request message gathered behind its 5-byte
// prefix (compressed flag, big-endian length), the method's handler run, and
// the answer written as headers, one framed message and trailers with
// grpc-status, or as a trailers-only error. Everything it holds is bounded:
// one message of at most MAX_POLICY_REQUEST bytes, and the server's budget
// across all calls (PolicyCallHost.reserve).

/** The request bytes one call may carry (grpc-js's default max receive message length). */
export const MAX_POLICY_REQUEST = 4 * 1024 * 1024;

export const GRPC = { OK: 0, DEADLINE_EXCEEDED: 4, INTERNAL: 13, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12 } as const;

export type PolicyCallback = (error: { code: number; details: string } | null, value?: unknown) => void;
export type PolicyHandler = (call: { readonly request: unknown }, callback: PolicyCallback) => void;

/** Deserializers that also read a message in place: fn(buf, start, end). */
const rangeDeserializers = new WeakSet<object>();

/** takes a reader of buf[start, end); returns it as a deserializer (bytes) => value, marked so the policy port may call it on a range. */
export function rangeDeserializer<T>(read: (buf: Buffer, start?: number, end?: number) => T): (bytes: Buffer) => T {
  rangeDeserializers.add(read);
  return read;
}

/** takes a deserializer; returns it as a range reader when it is one (rangeDeserializer), else undefined. */
export function asRangeReader(fn: (bytes: Buffer) => unknown): ((buf: Buffer, start: number, end: number) => unknown) | undefined {
  return rangeDeserializers.has(fn) ? (fn as (buf: Buffer, start: number, end: number) => unknown) : undefined;
}

/** One unary method: its codec (proto-loader's, as grpc-js would call it) and the handler grpc-js would be given. */
export interface PolicyMethod {
  readonly deserialize: (bytes: Buffer) => unknown;
  /** Reads a message in place (the transport's read buffer, during the read): no copy when it arrives whole. */
  readonly deserializeRange?: (buf: Buffer, start: number, end: number) => unknown;
  readonly serialize: (value: never) => Buffer;
  readonly handler: PolicyHandler;
}

/** What a call needs from its session. */
export interface PolicyCallHost {
  /** takes a byte count; returns false when the server's request-byte budget has no room for it. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
  /** The answer: headers, one framed message, trailers grpc-status 0. */
  answer(stream: number, frame: Buffer): void;
  /** A trailers-only answer (what the request still sends is read and dropped). */
  fail(stream: number, code: number, message: string): void;
}

const EMPTY = Buffer.alloc(0);
/** Framed answers by their message: a service that hands back the same encoded answer (EncodedAnswers) is framed once. */
const frames = new WeakMap<Buffer, Buffer>();

/** takes an encoded message; returns it behind the 5-byte prefix (uncompressed). */
export function framed(message: Buffer): Buffer {
  let frame = frames.get(message);
  if (frame !== undefined) return frame;
  frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  frames.set(message, frame);
  return frame;
}

export class PolicyCall {
  // The message bytes received are buffer[0, received - 5): a buffer grown by doubling as bytes arrive, never past
  // the declared length; what it holds is reserved from the host's budget as it grows (a prefix alone holds nothing).
  private buffer: Buffer = EMPTY;
  private received = 0;
  private reserved = 0;
  /** 5 + the declared length, once the prefix is in (-1 before). */
  private expected = -1;
  /** The prefix's compressed flag and its length field, read byte by byte (no Buffer per call). */
  private flag = 0;
  private declared = 0;
  /** The message was read in place as it arrived whole (1: request set; -1: it did not decode; 0: not read yet). */
  private readInPlace = 0;
  /** An answer was given or the stream closed: nothing more is done. */
  done = false;
  ended = false;
  request: unknown = undefined;

  constructor(
    private readonly host: PolicyCallHost,
    readonly stream: number,
    private readonly method: PolicyMethod,
    /** The server's sweep count at the head (a request not whole two sweeps later is refused). */
    readonly startTick: number,
  ) {}

  /** Takes buf[start, end) of the request body; refuses as soon as the prefix declares too much or a second message starts. */
  onData(buf: Buffer, start: number, end: number): void {
    if (this.done) return;
    let at = start;
    if (this.expected < 0) {
      while (this.received < 5 && at < end) {
        const byte = buf[at++]!;
        if (this.received++ === 0) this.flag = byte;
        else this.declared = this.declared * 256 + byte;
      }
      if (this.received < 5) return;
      const declared = this.declared;
      if (declared > MAX_POLICY_REQUEST) {
        this.refuse(GRPC.RESOURCE_EXHAUSTED, `Received message larger than max (${declared} vs. ${MAX_POLICY_REQUEST})`);
        return;
      }
      this.expected = declared + 5;
    }
    const n = end - at;
    if (n === 0) return;
    if (this.received + n > this.expected) {
      this.refuse(GRPC.UNIMPLEMENTED, 'a unary call carries one request message');
      return;
    }
    if (this.received === 5 && this.received + n === this.expected && this.flag === 0 && this.method.deserializeRange !== undefined) {
      this.readWhole(buf, at, end);
      return;
    }
    const need = this.received - 5 + n;
    if (need > this.buffer.length) {
      const size = Math.min(this.expected - 5, Math.max(need, 2 * this.buffer.length, 256));
      if (!this.host.reserve(size - this.reserved)) {
        this.refuse(GRPC.RESOURCE_EXHAUSTED, 'the policy server is holding too many request bytes; try again');
        return;
      }
      this.reserved = size;
      const grown = Buffer.allocUnsafe(size);
      this.buffer.copy(grown, 0, 0, this.received - 5);
      this.buffer = grown;
    }
    buf.copy(this.buffer, this.received - 5, at, end);
    this.received += n;
  }

  /**
   * The whole message is buf[start, end), bytes valid only now: read it in place instead of gathering a copy. What
   * it decodes to is held under the same budget as the bytes would be, until the request ends.
   */
  private readWhole(buf: Buffer, start: number, end: number): void {
    const n = end - start;
    if (!this.host.reserve(n)) {
      this.refuse(GRPC.RESOURCE_EXHAUSTED, 'the policy server is holding too many request bytes; try again');
      return;
    }
    this.reserved = n;
    this.received += n;
    try {
      this.request = this.method.deserializeRange!(buf, start, end);
      this.readInPlace = 1;
    } catch {
      this.readInPlace = -1;
    }
  }

  /** The request ended: decode it and run the handler. */
  onEnd(): void {
    this.ended = true;
    if (this.done) return;
    if (this.received < 5 || this.received !== this.expected) {
      this.refuse(GRPC.UNIMPLEMENTED, this.received === 0 ? 'a unary call carries one request message (none received)' : 'a unary call carries one request message, whole');
      return;
    }
    if (this.flag !== 0) {
      // Only identity is accepted (grpc-accept-encoding says so); a compressed message is not guessed at.
      this.refuse(GRPC.UNIMPLEMENTED, 'compressed request messages are not accepted (grpc-accept-encoding: identity)');
      return;
    }
    if (this.readInPlace !== 0) {
      this.dropBuffer();
      if (this.readInPlace < 0) {
        this.refuse(GRPC.INTERNAL, 'Error deserializing request');
        return;
      }
    } else {
      const body = this.buffer.length === this.expected - 5 ? this.buffer : this.buffer.subarray(0, this.expected - 5);
      this.dropBuffer();
      try {
        this.request = this.method.deserialize(body);
      } catch {
        this.refuse(GRPC.INTERNAL, 'Error deserializing request');
        return;
      }
    }
    try {
      this.method.handler(this, this.onAnswer.bind(this));
    } catch {
      // A handler may answer before it returns: a throw after that changes nothing.
      if (!this.done) this.refuse(GRPC.INTERNAL, 'the handler failed');
    }
  }

  /** The stream closed (answered, reset by the peer, or the session went). */
  onClose(): void {
    this.done = true;
    this.request = undefined;
    this.dropBuffer();
  }

  private onAnswer(error: { code: number; details: string } | null, value?: unknown): void {
    if (this.done) return;
    if (error !== null) {
      this.refuse(error.code, error.details);
      return;
    }
    let message: Buffer;
    try {
      message = this.method.serialize(value as never);
    } catch {
      this.refuse(GRPC.INTERNAL, 'Error serializing response');
      return;
    }
    this.done = true;
    this.host.answer(this.stream, framed(message));
  }

  /** A trailers-only answer; the bytes held are given back. */
  refuse(code: number, details: string): void {
    this.done = true;
    this.request = undefined;
    this.dropBuffer();
    this.host.fail(this.stream, code, details);
  }

  private dropBuffer(): void {
    this.buffer = EMPTY;
    if (this.reserved > 0) {
      this.host.release(this.reserved);
      this.reserved = 0;
    }
  }
}
