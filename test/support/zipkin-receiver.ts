// A Zipkin-shaped collector for tests: a real HTTP server that accepts
// POST /api/v2/spans (Zipkin v2 JSON, a list of spans) and keeps them.
import http from 'node:http';

export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  kind?: 'CLIENT' | 'SERVER';
  name?: string;
  timestamp: number;
  duration: number;
  shared?: boolean;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
}

export interface ZipkinReceiver {
  readonly port: number;
  readonly spans: ZipkinSpan[];
  /** Reports received (POSTs), with the path each went to. */
  readonly reports: { path: string; contentType: string | undefined }[];
  /** TCP connections the receiver accepted. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startZipkinReceiver(): Promise<ZipkinReceiver> {
  const spans: ZipkinSpan[] = [];
  const reports: { path: string; contentType: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/api/v2/spans') {
        res.writeHead(404).end();
        return;
      }
      reports.push({ path: req.url, contentType: req.headers['content-type'] });
      try {
        const list = JSON.parse(body) as ZipkinSpan[];
        spans.push(...list);
        res.writeHead(202).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    spans,
    reports,
    get connections() {
      return connections;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
