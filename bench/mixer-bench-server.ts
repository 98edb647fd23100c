// The policy scenario's Mixer server, in its own process (its CPU is not the
// proxy's): answers every Check OK, either cacheable for the whole run (the
// cache-hit row: one Check, then every request from the proxy's cache) or
// not cacheable (valid_duration 0: the miss row, one Check RPC per request).
// Prints one JSON line `{ msg: 'mixer ready', port }`.
import * as grpc from '@grpc/grpc-js';
import { mixerServiceDefinition } from '../src/xds/mixer-protos.js';

const cacheable = process.argv.includes('--cacheable');
let checks = 0;
const server = new grpc.Server();
const response = {
  precondition: {
    status: { code: 0, message: '' },
    valid_duration: cacheable ? { seconds: 3600, nanos: 0 } : { seconds: 0, nanos: 0 },
    valid_use_count: cacheable ? 1_000_000_000 : 1,
    // The rule read the method only: every bench request shares one key.
    referenced_attributes: { attribute_matches: [{ name: 'request.method', condition: 'EXACT', map_key: '' }] },
  },
  quotas: {},
};
server.addService(mixerServiceDefinition(), {
  Check(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
    checks++;
    cb(null, response);
  },
  Report(_call: unknown, cb: grpc.sendUnaryData<unknown>) {
    cb(null, {});
  },
});
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err !== null) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ msg: 'mixer ready', port })}\n`);
});
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'mixer stopped', checks })}\n`);
  server.forceShutdown();
  process.exit(0);
});
