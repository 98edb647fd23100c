// Which codec a downstream connection speaks, decided on its first plaintext
// bytes as Envoy's codec_type says: HTTP2 always; AUTO picks HTTP/2 when TLS
// negotiated ALPN "h2" or the bytes open with the HTTP/2 client preface
// (h2c with prior knowledge); HTTP1 never.
import type { DownstreamConnection } from '../downstream-connection.js';
import { H2DownstreamSession } from './h2-downstream-session.js';
import type { H2ConnectionSession } from './h2-stream-backend.js';
import { NativeH2Session } from './native-h2-session.js';

/** ISTHMUS_H2=node keeps downstream HTTP/2 on node:http2 (for comparison; the native session is the default). */
const NATIVE_H2 = process.env['ISTHMUS_H2'] !== 'node';
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** "PRI " is no HTTP/1.1 method a client sends: four bytes of the preface decide. */
const DECIDING_BYTES = 4;

function opensWithPreface(buf: Buffer, start: number, end: number): boolean {
  const n = Math.min(end - start, PREFACE.length);
  if (n < DECIDING_BYTES) return false;
  return buf.compare(PREFACE, 0, n, start, start + n) === 0;
}

/** The HTTP/2 session now owning the connection (fed these bytes), or null: HTTP/1.1 reads them. */
export function startHttp2IfChosen(conn: DownstreamConnection, buf: Buffer, start: number, end: number): H2ConnectionSession | null {
  const listener = conn.worker.snapshot.listeners.get(conn.listener);
  if (listener === undefined) return null;
  const hcm = (listener.chains[conn.chainIndex] ?? listener.chains[0])?.hcm;
  if (hcm === undefined || hcm.codecType === 'HTTP1') return null;
  if (hcm.codecType === 'AUTO' && conn.alpn !== 'h2' && !opensWithPreface(buf, start, end)) return null;
  // nghttp2 in the addon when it can write to the socket itself (native transport, plaintext or native TLS);
  // node:http2 over the connection otherwise (--transport node, or ISTHMUS_H2=node).
  const connId = NATIVE_H2 ? conn.nativeConnId : -1;
  let session: H2ConnectionSession | null = null;
  if (connId >= 0) {
    const native = new NativeH2Session(conn, conn.worker, conn.listener, hcm.http2, connId);
    if (native.handle >= 0) session = native;
  }
  session ??= new H2DownstreamSession(conn, conn.worker, conn.listener, hcm.http2);
  session.receive(buf, start, end);
  return session;
}
