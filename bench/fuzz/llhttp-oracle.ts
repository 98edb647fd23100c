// llhttp (the WebAssembly build undici ships, in its default strict mode) as
// the reference the fuzzer compares our native parsers with: whether it
// accepts a request head, and how it decodes a chunked body.
import { TYPE_REQUEST, instantiateLlhttp, type LlhttpExports } from '../llhttp-wasm.js';

const HPE_OK = 0;
const HPE_PAUSED = 21;

/** llhttp's verdict on a request head. */
export interface LlhttpHead {
  /** 'complete': the head parsed (length = its bytes); 'incomplete': no error, head not finished; 'error': refused. */
  readonly verdict: 'complete' | 'incomplete' | 'error';
  readonly length: number;
  /** llhttp's errno when refused (constants in undici/lib/llhttp/constants.js ERROR). */
  readonly errno: number;
}

/** llhttp's verdict on a chunked body (after a fixed head). */
export interface LlhttpBody {
  readonly verdict: 'complete' | 'incomplete' | 'error';
  /** The decoded data, when complete. */
  readonly data: Buffer;
  /** Body bytes consumed up to the end of the message, when complete. */
  readonly consumed: number;
  readonly errno: number;
}

const CHUNKED_HEAD = Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', 'latin1');
const CAPACITY = 256 * 1024;

export class LlhttpOracle {
  private readonly exports: LlhttpExports;
  private readonly parser: number;
  private readonly input: number;
  private headersComplete = false;
  private messageComplete = false;
  private messageCompleteAt = 0;
  private pauseOnHeaders = false;
  private readonly body: Buffer[] = [];

  constructor() {
    this.exports = instantiateLlhttp(['llhttp-wasm.js'], {
      wasm_on_url: () => 0,
      wasm_on_status: () => 0,
      wasm_on_message_begin: () => 0,
      wasm_on_header_field: () => 0,
      wasm_on_header_value: () => 0,
      wasm_on_headers_complete: () => {
        this.headersComplete = true;
        return this.pauseOnHeaders ? HPE_PAUSED : 0;
      },
      wasm_on_body: (_p: number, at: number, len: number) => {
        this.body.push(Buffer.from(new Uint8Array(this.exports.memory.buffer, at, len)));
        return 0;
      },
      wasm_on_message_complete: () => {
        this.messageComplete = true;
        // pause so bytes after the message (a pipelined request) are not parsed as part of this test
        return HPE_PAUSED;
      },
    }).exports;
    this.parser = this.exports.llhttp_alloc(TYPE_REQUEST);
    this.input = this.exports.malloc(CAPACITY);
  }

  /** Largest input this oracle takes. */
  get capacity(): number {
    return CAPACITY;
  }

  private load(parts: readonly Buffer[]): number {
    let at = 0;
    const memory = new Uint8Array(this.exports.memory.buffer, this.input, CAPACITY);
    for (const p of parts) {
      memory.set(p, at);
      at += p.length;
    }
    this.exports.llhttp_reset(this.parser);
    this.headersComplete = false;
    this.messageComplete = false;
    this.body.length = 0;
    return at;
  }

  /** takes the bytes a client sent; returns whether llhttp accepts the request head at their start. */
  head(input: Buffer): LlhttpHead {
    const length = this.load([input]);
    this.pauseOnHeaders = true;
    const e = this.exports;
    let errno = e.llhttp_execute(this.parser, this.input, length);
    if (errno === HPE_PAUSED && this.headersComplete) {
      // Paused in on_headers_complete: the head ends at the pause. llhttp's own checks of the complete head
      // (Content-Length with Transfer-Encoding, ...) run when it resumes, before it reads a body byte.
      const headLength = e.llhttp_get_error_pos(this.parser) - this.input;
      e.llhttp_resume(this.parser);
      this.pauseOnHeaders = false;
      errno = e.llhttp_execute(this.parser, this.input + headLength, 0);
      if (errno !== HPE_OK && errno !== HPE_PAUSED && e.llhttp_get_error_pos(this.parser) - this.input === headLength) {
        return { verdict: 'error', length: 0, errno };
      }
      return { verdict: 'complete', length: headLength, errno: HPE_OK };
    }
    if (errno !== HPE_OK) return { verdict: 'error', length: 0, errno };
    return { verdict: 'incomplete', length: 0, errno: HPE_OK };
  }

  /** takes a chunked body (what follows the head); returns llhttp's decoding of it. */
  chunkedBody(body: Buffer): LlhttpBody {
    const length = this.load([CHUNKED_HEAD, body]);
    this.pauseOnHeaders = false;
    const e = this.exports;
    const errno = e.llhttp_execute(this.parser, this.input, length);
    if (this.messageComplete) {
      const end = errno === HPE_PAUSED ? e.llhttp_get_error_pos(this.parser) - this.input : length;
      return { verdict: 'complete', data: Buffer.concat(this.body), consumed: end - CHUNKED_HEAD.length, errno: HPE_OK };
    }
    if (errno !== HPE_OK) return { verdict: 'error', data: Buffer.alloc(0), consumed: 0, errno };
    return { verdict: 'incomplete', data: Buffer.alloc(0), consumed: 0, errno: HPE_OK };
  }
}
