// istio.v1.auth.IstioCertificateService/CreateCertificate on the control
// plane's gRPC server: the caller's bootstrap token (authorization: Bearer)
// names who it is, the CSR must ask for exactly that identity, and the answer
// is the PEM chain. A refusal is a gRPC status with a message that says why;
// nothing a caller sends can take the server down.
import { status as GrpcStatus, type Server, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { certificateServiceDefinition, type IstioCertificateRequest, type IstioCertificateResponse } from '../../src/xds/ca-protos.js';
import type { Logger } from '../../src/log.js';
import { CaRefusal, type CertificateAuthority } from './certificate-authority.js';

const CODES = {
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  RESOURCE_EXHAUSTED: GrpcStatus.RESOURCE_EXHAUSTED,
} as const;

/** takes a gRPC server and the CA; adds the certificate service to it. */
export function addCertificateService(server: Server, ca: CertificateAuthority, log: Logger): void {
  server.addService(certificateServiceDefinition(), {
    CreateCertificate(call: ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>, callback: sendUnaryData<IstioCertificateResponse>): void {
      const peer = call.getPeer();
      try {
        const auth = call.metadata.get('authorization')[0];
        const claims = ca.authenticate(typeof auth === 'string' ? auth : undefined);
        const seconds = Number(call.request.validity_duration ?? 0);
        const chain = ca.createCertificate(claims, call.request.csr, Number.isFinite(seconds) && seconds > 0 ? seconds : 0, peer);
        callback(null, { cert_chain: chain });
      } catch (err) {
        if (err instanceof CaRefusal) {
          if (err.code === 'UNAUTHENTICATED') log.warn({ peer }, `certificate request refused: ${err.message}`);
          callback({ code: CODES[err.code], details: err.message });
          return;
        }
        log.error({ err, peer }, 'certificate request failed');
        callback({ code: GrpcStatus.INTERNAL, details: 'the CA could not sign this request' });
      }
    },
  });
}
