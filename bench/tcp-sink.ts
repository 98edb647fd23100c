// The TCP bench's upstream, in its own process: reads and drops every byte a
// connection sends, and after the client's FIN answers with the byte count
// and closes (so the client knows every byte arrived). Prints its port.
import * as net from 'node:net';

const server = net.createServer({ allowHalfOpen: true }, (socket) => {
  let bytes = 0;
  socket.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  socket.on('error', () => {});
  socket.on('end', () => socket.end(String(bytes)));
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'tcp sink ready', port: (server.address() as net.AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
