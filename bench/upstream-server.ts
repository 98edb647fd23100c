// The bench's upstream: a uWebSockets.js server answering every request with a
// fixed body (1 KB by default). It runs as its own process so its CPU is
// sampled apart from the proxy's. Usage: node upstream-server.js [--port N] [--body-bytes N]
// Prints one JSON line {"msg":"upstream ready","port":N}; SIGTERM/SIGINT stop it.
import { uws, type us_listen_socket } from '../src/uws.js';

function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`upstream-server: ${name} needs a non-negative integer\n`);
    process.exit(2);
  }
  return value;
}

const port = numberArg('--port', 0);
const body = Buffer.alloc(numberArg('--body-bytes', 1024), 'x');
let listenSocket: us_listen_socket | null = null;

const app = uws.App();
app.any('/*', (res) => {
  // The request has no body we care about; answering at once keeps the upstream cheap.
  res.cork(() => {
    res.writeHeader('content-type', 'text/plain').end(body);
  });
});

app.listen('127.0.0.1', port, (socket) => {
  if (socket === false) {
    process.stderr.write(`upstream-server: cannot listen on 127.0.0.1:${port}\n`);
    process.exit(1);
  }
  listenSocket = socket;
  const actual = uws.us_socket_local_port(socket as unknown as Parameters<typeof uws.us_socket_local_port>[0]);
  process.stdout.write(`${JSON.stringify({ msg: 'upstream ready', port: actual })}\n`);
});

function stop(): void {
  // uWS aborts the process at exit while a listen socket is open: close it first.
  if (listenSocket !== null) uws.us_listen_socket_close(listenSocket);
  listenSocket = null;
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
