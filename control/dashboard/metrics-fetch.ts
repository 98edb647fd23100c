// One bounded HTTP GET of a metrics text (a sidecar's /stats/prometheus, a
// Prometheus server's API): a deadline for the whole exchange, a cap on the
// body (the request is aborted past it), and every failure as a message.
// node:http rather than fetch: cheaper per call, and the cap is exact.
import { request, type Agent } from 'node:http';

export interface FetchLimits {
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

export type FetchResult = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly message: string };

/**
 * GETs `url` (http only); resolves with the body as text, or a message naming what went wrong. Never rejects.
 * With a keep-alive `agent` the connection is reused by the next pull (half the CPU of a new one per pull).
 * `signal` ends it early (a caller that is shutting down), as a failure.
 */
export function fetchText(url: URL, limits: FetchLimits, agent?: Agent, signal?: AbortSignal): Promise<FetchResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: FetchResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const headers = agent === undefined ? { accept: 'text/plain, application/json', connection: 'close' } : { accept: 'text/plain, application/json' };
    const req = request(url, { method: 'GET', agent: agent ?? false, headers, ...(signal === undefined ? {} : { signal }) }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish({ ok: false, message: `HTTP ${res.statusCode ?? '?'}` });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxBytes) {
          finish({ ok: false, message: `response over ${limits.maxBytes} bytes` });
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => finish({ ok: false, message: err.message }));
    });
    const timer = setTimeout(() => {
      finish({ ok: false, message: `no answer within ${limits.timeoutMs} ms` });
      req.destroy();
    }, limits.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, message: err.code ?? err.message }));
    req.end();
  });
}

/** Runs `work` over `items` with at most `concurrency` at once; resolves when all are done. */
export async function forEachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}
