// The tls_inspector listener filter: peeks at a connection's first bytes to
// tell TLS from plaintext and, for TLS, reads the ClientHello's SNI and ALPN
// list so a filter chain can be chosen before anything is decrypted. Reads
// only what it was given, every length checked against what is there.

/** Bytes of a ClientHello we wait for at most (Envoy's inspector: 64 KiB); past it the hello is taken as unreadable. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

export const INSPECT_MORE = 0; // not enough bytes yet
export const INSPECT_PLAINTEXT = 1; // not a TLS handshake record
export const INSPECT_TLS = 2; // a ClientHello (sni/alpn filled in as found)

export interface ClientHelloInfo {
  sni: string;
  alpn: string[];
}

/** takes buf[start, end) (a connection's first bytes) and an info to fill; returns INSPECT_*. */
export function inspectClientHello(buf: Buffer, start: number, end: number, info: ClientHelloInfo): number {
  const n = end - start;
  if (n < 1) return INSPECT_MORE;
  if (buf[start] !== 0x16) return INSPECT_PLAINTEXT; // handshake record type
  if (n < 3) return INSPECT_MORE;
  if (buf[start + 1] !== 0x03) return INSPECT_PLAINTEXT; // major version 3 (SSL 3.0 .. TLS 1.3 records)
  if (n < 6) return INSPECT_MORE;
  if (buf[start + 5] !== 0x01) return INSPECT_PLAINTEXT; // handshake type ClientHello
  if (n < 9) return INSPECT_MORE;
  const helloLen = (buf[start + 6]! << 16) | (buf[start + 7]! << 8) | buf[start + 8]!;
  // The hello may span records; we read it only when it fits in the first (as every client sends it today).
  const recordLen = (buf[start + 3]! << 8) | buf[start + 4]!;
  if (helloLen + 4 > recordLen) return INSPECT_TLS; // spans records: TLS, with no SNI/ALPN known
  if (n < 5 + recordLen) return n >= MAX_CLIENT_HELLO_BYTES ? INSPECT_TLS : INSPECT_MORE;
  readHello(buf, start + 9, start + 9 + helloLen, info);
  return INSPECT_TLS;
}

function readHello(buf: Buffer, pos: number, end: number, info: ClientHelloInfo): void {
  pos += 2 + 32; // client_version, random
  if (pos + 1 > end) return;
  pos += 1 + buf[pos]!; // session_id
  if (pos + 2 > end) return;
  pos += 2 + buf.readUInt16BE(pos); // cipher_suites
  if (pos + 1 > end) return;
  pos += 1 + buf[pos]!; // compression_methods
  if (pos + 2 > end) return;
  const extEnd = Math.min(end, pos + 2 + buf.readUInt16BE(pos));
  pos += 2;
  while (pos + 4 <= extEnd) {
    const type = buf.readUInt16BE(pos);
    const len = buf.readUInt16BE(pos + 2);
    const body = pos + 4;
    pos = body + len;
    if (pos > extEnd) return;
    if (type === 0) readSni(buf, body, pos, info);
    else if (type === 16) readAlpn(buf, body, pos, info);
  }
}

function readSni(buf: Buffer, pos: number, end: number, info: ClientHelloInfo): void {
  if (pos + 2 > end) return;
  const listEnd = Math.min(end, pos + 2 + buf.readUInt16BE(pos));
  pos += 2;
  while (pos + 3 <= listEnd) {
    const type = buf[pos]!;
    const len = buf.readUInt16BE(pos + 1);
    pos += 3;
    if (pos + len > listEnd) return;
    if (type === 0) {
      info.sni = buf.toString('latin1', pos, pos + len).toLowerCase();
      return;
    }
    pos += len;
  }
}

function readAlpn(buf: Buffer, pos: number, end: number, info: ClientHelloInfo): void {
  if (pos + 2 > end) return;
  const listEnd = Math.min(end, pos + 2 + buf.readUInt16BE(pos));
  pos += 2;
  while (pos + 1 <= listEnd) {
    const len = buf[pos]!;
    pos += 1;
    if (pos + len > listEnd) return;
    info.alpn.push(buf.toString('latin1', pos, pos + len));
    pos += len;
  }
}
