// Which codec a downstream connection speaks, decided on its first plaintext
// bytes as Envoy's codec_type says: HTTP2 always; AUTO picks HTTP/2 when TLS
// negotiated ALPN "h2" or the bytes open with the HTTP/2 client preface
// (h2c with prior knowledge); HTTP1 never.
import type { DownstreamConnection } from '../downstream-connection.js';
import { H2DownstreamSession } from './h2-downstream-session.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
/** "PRI " is no HTTP/1.1 method a client sends: four bytes of the preface decide. */
const DECIDING_BYTES = 4;

function opensWithPreface(buf: Buffer, start: number, end: number): boolean {
  const n = Math.min(end - start, PREFACE.length);
  if (n < DECIDING_BYTES) return false;
  return buf.compare(PREFACE, 0, n, start, start + n) === 0;
}

/** The HTTP/2 session now owning the connection (fed these bytes), or null: HTTP/1.1 reads them. */
export function startHttp2IfChosen(conn: DownstreamConnection, buf: Buffer, start: number, end: number): H2DownstreamSession | null {
  const listener = conn.worker.snapshot.listeners.get(conn.listener);
  if (listener === undefined) return null;
  const hcm = (listener.chains[conn.chainIndex] ?? listener.chains[0])?.hcm;
  if (hcm === undefined || hcm.codecType === 'HTTP1') return null;
  if (hcm.codecType === 'AUTO' && conn.alpn !== 'h2' && !opensWithPreface(buf, start, end)) return null;
  const session = new H2DownstreamSession(conn, conn.worker, conn.listener, hcm.http2);
  session.receive(buf, start, end);
  return session;
}
