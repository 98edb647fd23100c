// A tiny versioned service for the demo: every request gets a page saying which
// version served it (HTML for a browser, one line of text for curl), so the
// proxy's traffic split is visible by eye.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DemoUpstream {
  readonly version: string;
  readonly port: number;
  close(): Promise<void>;
}

const COLORS: Readonly<Record<string, string>> = { v1: '#2f6fdf', v2: '#d9462b' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(version: string, req: IncomingMessage): string {
  const color = COLORS[version] ?? '#444';
  const path = escapeHtml(req.url ?? '/');
  const requestId = escapeHtml(String(req.headers['x-request-id'] ?? '(none)'));
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>reviews ${version}</title></head>
<body style="font-family: system-ui, sans-serif; margin: 3em">
<h1 style="color: ${color}">Served by reviews ${version}</h1>
<p>Path <code>${path}</code>, x-request-id <code>${requestId}</code>.</p>
<p>Reload: about 4 in 5 pages come from v1 and 1 in 5 from v2 (the proxy's 80/20 split).
<a href="/v2">/v2</a> always goes to v2.</p>
</body></html>
`;
}

function handle(version: string, req: IncomingMessage, res: ServerResponse): void {
  req.resume(); // any request body is ignored
  const wantsHtml = (req.headers.accept ?? '').includes('text/html');
  const body = wantsHtml ? page(version, req) : `Hello from reviews ${version} (path ${req.url ?? '/'})\n`;
  res.writeHead(200, {
    'content-type': wantsHtml ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-version': version,
  });
  res.end(body);
}

/** Starts the service for `version` on 127.0.0.1 at a port the kernel picks. */
export async function startDemoUpstream(version: string): Promise<DemoUpstream> {
  const server: Server = createServer((req, res) => handle(version, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    version,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
