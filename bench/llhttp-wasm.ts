// llhttp as undici ships it (a WebAssembly build inside undici's package),
// instantiated with the callbacks a caller gives: the bench's parser
// comparison and the fuzzer's oracle both drive it through this one loader.
import { createRequire } from 'node:module';

/** llhttp's parser type for requests (llhttp_alloc). */
export const TYPE_REQUEST = 1;

/** The part of the WebAssembly API used here (this project's TypeScript libs do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, (...args: number[]) => number>>) => { exports: unknown };
}
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The exports of undici's llhttp build the bench uses. */
export interface LlhttpExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  llhttp_alloc(type: number): number;
  llhttp_reset(parser: number): void;
  llhttp_execute(parser: number, data: number, length: number): number;
  llhttp_resume(parser: number): void;
  llhttp_get_errno(parser: number): number;
  llhttp_get_error_pos(parser: number): number;
  malloc(size: number): number;
  free(ptr: number): void;
}

/** The wasm_on_* callbacks llhttp calls: (parser, at, length) → 0 to go on, or an llhttp error/pause code. */
export type LlhttpCallbacks = Record<
  'wasm_on_url' | 'wasm_on_status' | 'wasm_on_message_begin' | 'wasm_on_header_field' | 'wasm_on_header_value' |
  'wasm_on_headers_complete' | 'wasm_on_body' | 'wasm_on_message_complete',
  (parser: number, at: number, length: number) => number
>;

/** Takes the wasm file names to try in order (under undici/lib/llhttp/) and the callbacks; returns the exports and the file loaded. */
export function instantiateLlhttp(files: readonly string[], callbacks: LlhttpCallbacks): { exports: LlhttpExports; variant: string } {
  const require = createRequire(import.meta.url);
  let lastError: unknown = new Error('no llhttp wasm file named');
  for (const file of files) {
    try {
      const module = new wasmApi.Module(require(`undici/lib/llhttp/${file}`) as Buffer);
      const instance = new wasmApi.Instance(module, { env: callbacks as unknown as Record<string, (...args: number[]) => number> });
      return { exports: instance.exports as unknown as LlhttpExports, variant: file };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}
