// `npm run bench:mixer -- --server trivial`: a node:http2 server that answers
// every stream at once with a fixed, well-formed Check answer (OK, framed,
// grpc-status 0 in trailers) and does nothing else. The same load
// generators against it show what the client, Node's HTTP/2 and the machine
// cost with no policy and no grpc-js at all: if a client shows milliseconds
// here, they are not the control plane's. Prints one JSON line
// `{ msg: 'trivial ready', port }`.
import { createServer, constants as h2 } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { mixerServiceDefinition } from '../src/xds/mixer-protos.js';

const message = mixerServiceDefinition().Check!.responseSerialize({ precondition: { status: { code: 0, message: '' }, valid_use_count: 1 }, quotas: {} }) as Buffer;
const framed = Buffer.alloc(5 + message.length);
framed.writeUInt32BE(message.length, 1);
message.copy(framed, 5);

const server = createServer();
server.on('stream', (stream) => {
  stream.on('error', () => undefined);
  stream.resume();
  stream.once('end', () => {
    if (stream.destroyed) return;
    stream.respond({ [h2.HTTP2_HEADER_STATUS]: 200, [h2.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'OK' }));
    stream.end(framed);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'trivial ready', port: (server.address() as AddressInfo).port })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
