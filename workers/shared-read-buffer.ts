// Every socket of a worker reads into one shared buffer through Node's
// `onread` mode: the kernel's bytes land in memory we own and our callback
// runs straight from the stream's read callback, with no 64 KiB allocation,
// Buffer object or Readable push per read.
//
// The rule that makes one buffer safe for all sockets: bytes in it are valid
// only during the callback. Anything that must outlive it (a partial head, a
// body piece kept for a retry, a write the kernel did not take at once) is
// copied first with `retain`. Parsing and header copying read it in place.
import { Buffer } from 'node:buffer';
import * as net from 'node:net';

const SIZE = 64 * 1024;
const shared = Buffer.allocUnsafe(SIZE);

/** Given to Node as the buffer generator: it is asked after every read and answers the same buffer. */
function sharedBuffer(): Buffer {
  return shared;
}

/** nread bytes are at buf[0, nread) (the buffer is ours, so it is a Buffer). Flow control is socket.pause(). */
export type ReadCallback = (nread: number, buf: Buffer) => void;

/** Copies bytes out of a read buffer so they may be kept. */
export function retain(buf: Buffer, start: number, end: number): Buffer {
  const copy = Buffer.allocUnsafe(end - start);
  buf.copy(copy, 0, start, end);
  return copy;
}

/** takes a view and a store (null: none); returns whether the view starts where the store does (bytes kept in it). */
export function isStartOf(view: Buffer, store: Buffer | null): boolean {
  return store !== null && view.buffer === store.buffer && view.byteOffset === store.byteOffset;
}

/**
 * takes kept bytes, the store they may be the start of (null: none) and bytes buf[start, end) to append; returns
 * the store that holds the two joined at its start: the same one when it had room, else a new one twice as large.
 * A head arriving in many pieces grows one store by doubling (bytes before kept.length are never written again), so
 * a head trickled a byte per read costs linear copying.
 */
export function appendKept(kept: Buffer, store: Buffer | null, buf: Buffer, start: number, end: number): Buffer {
  const need = kept.length + end - start;
  if (isStartOf(kept, store) && need <= store!.length) {
    buf.copy(store!, kept.length, start, end);
    return store!;
  }
  const grown = Buffer.allocUnsafe(Math.max(need, 2 * kept.length));
  kept.copy(grown, 0);
  buf.copy(grown, kept.length, start, end);
  return grown;
}

/** The `onread` option for net.connect. */
export function sharedReadOption(callback: ReadCallback): net.OnReadOpts {
  // Node stops reading when the callback returns exactly false; ours return undefined.
  return { buffer: sharedBuffer, callback: callback as unknown as net.OnReadOpts['callback'] };
}

// A socket made by net.Server cannot be given `onread`; we set up the same
// three fields the net.Socket constructor sets for it, found by probing a
// socket built with the option. If a future Node names them differently the
// probe fails and such sockets fall back to 'data' events.
interface OnreadSymbols {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

function probeSymbols(): OnreadSymbols | null {
  const callback = (): void => {};
  // @types/node omits `onread` from the constructor options; Node has accepted it there since v12.
  const probe = new net.Socket({ onread: { buffer: sharedBuffer, callback } } as net.SocketConstructorOpts);
  const record = probe as unknown as Record<symbol, unknown>;
  let buffer: symbol | undefined;
  let cb: symbol | undefined;
  let generator: symbol | undefined;
  for (const sym of Object.getOwnPropertySymbols(probe)) {
    const value = record[sym];
    if (value === callback) cb = sym;
    else if (value === sharedBuffer) generator = sym;
    else if (sym.description === 'kBuffer' && value === true) buffer = sym;
  }
  probe.destroy();
  return buffer && cb && generator ? { buffer, callback: cb, generator } : null;
}

const symbols = probeSymbols();

interface HandleWithUserBuffer {
  useUserBuffer(buf: Uint8Array): void;
}

/** Switches an accepted socket to shared-buffer reads (call in the 'connection' handler, before any read). */
export function readAcceptedSocket(socket: net.Socket, callback: ReadCallback): void {
  const handle = (socket as unknown as { _handle: HandleWithUserBuffer | null })._handle;
  if (symbols !== null && handle !== null && typeof handle.useUserBuffer === 'function') {
    const record = socket as unknown as Record<symbol, unknown>;
    record[symbols.buffer] = shared;
    record[symbols.callback] = callback;
    record[symbols.generator] = sharedBuffer;
    handle.useUserBuffer(shared);
    return;
  }
  socket.on('data', (chunk: Buffer) => callback(chunk.length, chunk));
}

/** Whether accepted sockets get the fast path on this Node (tests assert it). */
export const acceptedSocketsUseSharedBuffer: boolean = symbols !== null;
