// An HTTP/2 request from a test client (node:http2) with what it got back:
// the shape the HTTP/2 e2e tests read answers in.
import type * as http2 from 'node:http2';

export interface H2Answer {
  readonly status: number;
  readonly body: string;
  readonly trailers: http2.IncomingHttpHeaders;
}

export interface H2RequestOptions {
  /** Request trailers sent after the body. */
  readonly trailers?: http2.OutgoingHttpHeaders;
  /** Pause between body parts, so the first reaches the upstream on its own (default 200 ms). */
  readonly gapMs?: number;
}

/** One request on `session` with `body` (parts written `gapMs` apart); resolves at the end of the response, rejects
 *  on a stream error. */
export function h2Request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: string | readonly string[] = '',
  o: H2RequestOptions = {},
): Promise<H2Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, o.trailers !== undefined ? { waitForTrailers: true } : {});
    if (o.trailers !== undefined) {
      const trailers = o.trailers;
      req.on('wantTrailers', () => req.sendTrailers(trailers));
    }
    let status = 0;
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve({ status, body: Buffer.concat(chunks).toString(), trailers }));
    req.on('error', reject);
    if (req.writableEnded) return; // GET and HEAD: node:http2 ended the stream with the headers
    const parts = typeof body === 'string' ? [body] : body;
    const writeFrom = (i: number): void => {
      if (i >= parts.length - 1) {
        req.end(parts[i]);
        return;
      }
      req.write(parts[i]);
      setTimeout(() => writeFrom(i + 1), o.gapMs ?? 200);
    };
    writeFrom(0);
  });
}
