// llhttp as undici runs it: the WebAssembly build shipped in undici's package
// (SIMD variant first, as undici loads it), fed the way undici's HTTP/1 client
// feeds it: copy the bytes into wasm memory, llhttp_execute, and for every
// field a callback that wraps the span in a Buffer view (undici's
// `new FastBuffer(buffer, start, len)`), collected as raw header buffers.
// Parsing requests here (undici parses responses; same machine, same callbacks).
import { TYPE_REQUEST, instantiateLlhttp, type LlhttpExports } from './llhttp-wasm.js';

export interface UndiciLlhttp {
  /** Parses data (one or more whole messages); returns the raw header buffers seen, or throws on an llhttp error. */
  execute(data: Buffer): number;
  /** The wasm file that was loaded. */
  readonly variant: string;
}

/** Loads llhttp from undici's package; throws (naming the package) when undici is not installed. */
export function loadUndiciLlhttp(): UndiciLlhttp {
  let bufferPtr = 0;
  let bufferSize = 0;
  let current: Buffer = Buffer.alloc(0);
  const raw: Buffer[] = [];
  let exports: LlhttpExports;
  // undici's callbacks: a Buffer view over the caller's bytes for each span.
  const view = (at: number, len: number): Buffer => Buffer.from(current.buffer, at - bufferPtr + current.byteOffset, len);
  const loaded = instantiateLlhttp(['llhttp_simd-wasm.js', 'llhttp-wasm.js'], {
    wasm_on_url: (_p: number, at: number, len: number) => (raw.push(view(at, len)), 0),
    wasm_on_status: () => 0,
    wasm_on_message_begin: () => 0,
    wasm_on_header_field: (_p: number, at: number, len: number) => (raw.push(view(at, len)), 0),
    wasm_on_header_value: (_p: number, at: number, len: number) => (raw.push(view(at, len)), 0),
    wasm_on_headers_complete: () => 0,
    wasm_on_body: (_p: number, at: number, len: number) => (view(at, len), 0),
    wasm_on_message_complete: () => 0,
  });
  exports = loaded.exports;
  const variant = loaded.variant;
  const parser = exports.llhttp_alloc(TYPE_REQUEST);
  return {
    variant,
    execute(data: Buffer): number {
      if (data.length > bufferSize) {
        if (bufferPtr !== 0) exports.free(bufferPtr);
        bufferSize = Math.ceil(data.length / 4096) * 4096;
        bufferPtr = exports.malloc(bufferSize);
      }
      new Uint8Array(exports.memory.buffer, bufferPtr, bufferSize).set(data);
      current = data;
      raw.length = 0;
      const ret = exports.llhttp_execute(parser, bufferPtr, data.length);
      if (ret !== 0) throw new Error(`llhttp error ${exports.llhttp_get_errno(parser)} (ret ${ret})`);
      return raw.length;
    },
  };
}
