// The addon's HTTP/2 event channel for this thread: h2Init takes one event
// array, one arena and one flush callback per thread, shared by every native
// HTTP/2 session on it (the data plane's server and upstream sessions, the
// control plane's policy port). Sessions register by handle here; the
// loop-turn flush (stream closes, drains, session ends) reaches them by it.
import { H2_EVENT as EV, h2Init } from './native.js';

const EVENT_RECORDS = 4096;
/** Request heads are copied here by C++; a head larger than half of it is refused (max_request_headers_kb past 512). */
const ARENA_BYTES = 1024 * 1024;

/** What gets a native session's event records. */
export interface H2EventTarget {
  onEvent(ev: Int32Array, r: number, input: Buffer): void;
}

let events: Int32Array | null = null;
let arena: Buffer = Buffer.alloc(0);
/** Sessions by handle (server and client sessions share the addon's handle space). */
const targets: (H2EventTarget | undefined)[] = [];

/** takes nothing; returns this thread's event array and arena, calling h2Init the first time. */
export function h2EventBuffers(): { events: Int32Array; arena: Buffer } {
  if (events === null) {
    const ev = new Int32Array(EVENT_RECORDS * EV.RECORD_INTS);
    arena = Buffer.allocUnsafeSlow(ARENA_BYTES);
    h2Init(ev, arena, dispatchFlush);
    events = ev;
  }
  return { events, arena };
}

/** takes a handle and its session (undefined: freed); flush-time records for it go there. */
export function setH2Target(handle: number, target: H2EventTarget | undefined): void {
  targets[handle] = target;
}

/** takes a handle; returns the session registered for it (undefined: none). */
export function h2Target(handle: number): H2EventTarget | undefined {
  return targets[handle];
}

function dispatchFlush(count: number): void {
  const ev = events!;
  for (let i = 0, r = 0; i < count; i++, r += EV.RECORD_INTS) targets[ev[r]!]?.onEvent(ev, r, arena);
}
