// llhttp as undici runs it: the WebAssembly build shipped in undici's package
// (SIMD variant first, as undici loads it), fed the way undici's HTTP/1 client
// feeds it: copy the bytes into wasm memory, llhttp_execute, and for every
// field a callback that wraps the span in a Buffer view (undici's
// `new FastBuffer(buffer, start, len)`), collected as raw header buffers.
// Parsing requests here (undici parses responses; same machine, same callbacks).
import { createRequire } from 'node:module';

const TYPE_REQUEST = 1;

/** The part of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, (...args: number[]) => number>>) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface LlhttpExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  llhttp_alloc(type: number): number;
  llhttp_execute(parser: number, data: number, length: number): number;
  llhttp_get_errno(parser: number): number;
  malloc(size: number): number;
  free(ptr: number): void;
}

export interface UndiciLlhttp {
  /** Parses data (one or more whole messages); returns the raw header buffers seen, or throws on an llhttp error. */
  execute(data: Buffer): number;
  /** The wasm file that was loaded. */
  readonly variant: string;
}

/** Loads llhttp from undici's package; throws (naming the package) when undici is not installed. */
export function loadUndiciLlhttp(): UndiciLlhttp {
  const require = createRequire(import.meta.url);
  let wasm: Buffer;
  let variant = 'llhttp_simd-wasm.js';
  let module: object;
  try {
    wasm = require('undici/lib/llhttp/llhttp_simd-wasm.js') as Buffer;
    module = new wasmApi.Module(wasm);
  } catch {
    variant = 'llhttp-wasm.js';
    wasm = require('undici/lib/llhttp/llhttp-wasm.js') as Buffer;
    module = new wasmApi.Module(wasm);
  }
  let bufferPtr = 0;
  let bufferSize = 0;
  let current: Buffer = Buffer.alloc(0);
  const raw: Buffer[] = [];
  let exports: LlhttpExports;
  // undici's callbacks: a Buffer view over the caller's bytes for each span.
  const view = (at: number, len: number): Buffer => Buffer.from(current.buffer, at - bufferPtr + current.byteOffset, len);
  const instance = new wasmApi.Instance(module, {
    env: {
      wasm_on_url: (_p: number, at: number, len: number) => (raw.push(view(at, len)), 0),
      wasm_on_status: () => 0,
      wasm_on_message_begin: () => 0,
      wasm_on_header_field: (_p: number, at: number, len: number) => (raw.push(view(at, len)), 0),
      wasm_on_header_value: (_p: number, at: number, len: number) => (raw.push(view(at, len)), 0),
      wasm_on_headers_complete: () => 0,
      wasm_on_body: (_p: number, at: number, len: number) => (view(at, len), 0),
      wasm_on_message_complete: () => 0,
    },
  });
  exports = instance.exports as unknown as LlhttpExports;
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
