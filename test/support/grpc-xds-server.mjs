// A proxyless gRPC server for the e2e tests: @grpc/grpc-js-xds's XdsServer
// with XdsServerCredentials (plaintext fallback), configured only by the
// control plane through GRPC_XDS_BOOTSTRAP. It answers /isthmus.test.Echo/Who
// with the caller's certificate URI SAN ('none' without one). Prints JSON
// lines: {"msg":"server ready","port":N} or {"msg":"error",...}.
import * as grpc from '@grpc/grpc-js';
import { register, XdsServer, XdsServerCredentials } from '@grpc/grpc-js-xds';

// Registers the xDS HTTP filters (the router among them) the server's Listener names.
register();

const port = Number(process.argv[2]);
const raw = (b) => b;
const server = new XdsServer();
server.addService({
  Who: { path: '/isthmus.test.Echo/Who', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw },
}, {
  Who(call, callback) {
    const cert = call.getAuthContext().sslPeerCertificate;
    const san = cert?.subjectaltname ?? 'none';
    callback(null, Buffer.from(san));
  },
});
server.bindAsync(`127.0.0.1:${port}`, new XdsServerCredentials(grpc.ServerCredentials.createInsecure()), (error, bound) => {
  if (error) {
    console.log(JSON.stringify({ msg: 'error', error: String(error) }));
    process.exit(1);
  }
  console.log(JSON.stringify({ msg: 'server ready', port: bound }));
});
process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
