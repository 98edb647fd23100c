// Node's Buffer has had these fixed-encoding methods on its prototype since
// v0.x (Buffer.prototype.toString and write dispatch to them); @types/node
// does not declare them. The data plane calls them directly to skip the
// encoding dispatch on every header slice.
export {};

declare global {
  interface Buffer {
    latin1Slice(start: number, end: number): string;
    latin1Write(text: string, offset: number, length?: number): number;
    utf8Write(text: string, offset: number, length?: number): number;
  }
}
