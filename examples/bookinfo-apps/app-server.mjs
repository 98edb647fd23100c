// What the four Bookinfo-shaped apps share: a small node:http server, the
// trace headers Bookinfo copies from each incoming request to its outgoing
// calls (so spans of one request join across hops), and calls to other
// services through this app's own sidecar (its outbound listener, the
// service named in the Host header, as Istio's sidecars route it).
// Started by `isthmus up` with an IPC channel: when that parent goes away
// (even killed with SIGKILL) the channel closes and the app exits too.
import { Agent, createServer, request } from 'node:http';

/** The headers Bookinfo's apps forward (productpage.py's getForwardHeaders, plus end-user for the fault demo). */
export const FORWARDED_HEADERS = Object.freeze([
  'x-request-id', 'traceparent', 'tracestate',
  'x-b3-traceid', 'x-b3-spanid', 'x-b3-parentspanid', 'x-b3-sampled', 'x-b3-flags', 'b3',
  'end-user', 'user-agent',
]);

/** Takes an incoming request; returns the subset of its headers to copy onto outgoing calls. */
export function forwardedHeaders(req) {
  const out = {};
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

const agent = new Agent({ keepAlive: true, maxSockets: 16, maxFreeSockets: 4, timeout: 30_000 });
const MAX_BODY = 256 * 1024;

/**
 * GETs http://<service>:9080<path> through the sidecar's outbound listener; resolves { status, body, json }
 * (json undefined when the body is not JSON), or { status: 0, error } when the call failed, took longer than
 * timeoutMs in all (a service trickling bytes gets no more time) or answered more than MAX_BODY bytes.
 */
export function callService(outboundPort, service, path, headers, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const req = request({
      host: '127.0.0.1', port: outboundPort, path, method: 'GET', agent,
      headers: { ...headers, host: `${service}:9080` },
    }, (res) => {
      const chunks = [];
      let size = 0;
      res.on('data', (c) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy(new Error(`answer over ${MAX_BODY} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(deadline);
        const body = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(body); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, body, json });
      });
      res.on('error', fail);
    });
    const deadline = setTimeout(() => req.destroy(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    function fail(err) {
      clearTimeout(deadline);
      resolve({ status: 0, error: err.message });
    }
    req.on('error', fail);
    req.end();
  });
}

/** Sends a JSON answer. */
export function sendJson(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Starts the app on 127.0.0.1:port with handler(req, res, url); GET /health answers 200 for probes.
 * Prints one "ready" line; exits on SIGTERM/SIGINT and when the parent's IPC channel closes.
 */
export function startApp(name, port, handler) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname === '/health') return sendJson(res, 200, { status: 'ok', app: name });
    Promise.resolve(handler(req, res, url)).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(err?.message ?? err) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.listen(port, '127.0.0.1', () => process.stdout.write(`${name} ready on 127.0.0.1:${server.address().port}\n`));
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (process.channel !== undefined) {
    process.on('disconnect', stop);
    process.channel.unref();
  }
  return server;
}

/** Reads a required integer from the environment (the demo passes ports this way). */
export function envPort(name) {
  const value = Number(process.env[name]);
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    process.stderr.write(`${name} must be a port number, got ${JSON.stringify(process.env[name])}\n`);
    process.exit(2);
  }
  return value;
}
