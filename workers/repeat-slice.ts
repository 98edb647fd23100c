// Strings of head fields that repeat request after request on a mesh path
// (the method, the Host, the path of a health or RPC endpoint): the bytes are
// compared in place with the last string made for that field and, when they
// match, that string is used again instead of slicing a new one (a call into
// C++ and a string for the young GC per request). One entry per field per
// worker; a field that changes every time costs a short compare.
import type { Buffer } from 'node:buffer';

export class RepeatSlice {
  /** The latin1 bytes last sliced, and the string handed out for them (mapped). */
  private raw = '';
  private value = '';

  /** `maxLength`: longer fields are never cached (compared for nothing); `map`: applied once per new value (toLowerCase). */
  constructor(
    private readonly maxLength: number,
    private readonly map: ((s: string) => string) | null = null,
  ) {}

  /** The string of buf[start, end) (latin1, mapped), the last one when the bytes are the same. */
  slice(buf: Buffer, start: number, end: number): string {
    const n = end - start;
    const raw = this.raw;
    if (n === raw.length && n > 0) {
      let k = 0;
      while (k < n && buf[start + k] === raw.charCodeAt(k)) k++;
      if (k === n) return this.value;
    }
    const s = buf.latin1Slice(start, end);
    const value = this.map === null ? s : this.map(s);
    if (n <= this.maxLength) {
      this.raw = s;
      this.value = value;
    }
    return value;
  }
}
