// A policy-port connection's open calls by stream id. A connection carries a
// handful of calls at once (nghttp2 holds it to MAX_STREAMS), opened and
// closed at Check rate: a Map's table is reallocated as it empties and fills
// again (~120 bytes of garbage per Check measured), while a dense array
// searched from the end allocates nothing once it has grown.

/** What the table holds: something with its stream id. */
export interface StreamCall {
  readonly stream: number;
}

export class CallTable<T extends StreamCall> {
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** takes a stream id; returns its call (undefined: none). */
  get(stream: number): T | undefined {
    const items = this.items;
    for (let i = items.length - 1; i >= 0; i--) if (items[i]!.stream === stream) return items[i];
    return undefined;
  }

  has(stream: number): boolean {
    return this.get(stream) !== undefined;
  }

  /** takes a call whose stream id is not in the table; adds it. */
  add(call: T): void {
    this.items.push(call);
  }

  /** takes a stream id; removes its call and returns it (undefined: none). */
  remove(stream: number): T | undefined {
    const items = this.items;
    for (let i = items.length - 1; i >= 0; i--) {
      const call = items[i]!;
      if (call.stream !== stream) continue;
      const last = items.pop()!;
      if (i < items.length) items[i] = last;
      return call;
    }
    return undefined;
  }

  /** The calls now (a copy: what is done with each may change the table). */
  list(): T[] {
    return this.items.slice();
  }

  clear(): void {
    this.items.length = 0;
  }
}
