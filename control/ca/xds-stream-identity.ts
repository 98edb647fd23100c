// Who may open an xDS stream on the TLS port (--secure-xds-port, Istio's
// 15012): the proxy's bootstrap token, sent as `authorization: Bearer` like
// its certificate requests, and the identity its node metadata claims must be
// the token's. A stream's NAMESPACE and SERVICE_ACCOUNT decide which service
// it may register as an endpoint and the source workload policy sees, so an
// unproven claim would let any peer that reaches the port pose as any
// workload. The plaintext port (loopback unless the operator opens it, like
// Istio's 15010) stays the operator's trusted path and is not asked.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { CaRefusal, type CertificateAuthority } from './certificate-authority.js';
import { quotedClaim, StreamRefused, type NodeIdentity, type StreamAuthenticator, type StreamCall, TRANSPORT_METADATA } from '../xds/ads-stream.js';

/** The namespace in a node id of Istio's layout (`sidecar~<address>~<service>-<instance>.<ns>~<ns>.svc.cluster.local`). */
const ISTIO_NODE_ID = /^(?:sidecar|router)~[^~]*~[^~]*~([^~]*)\.svc\.cluster\.local$/;

/** takes the CA (it verifies tokens); returns the check the ADS server runs on each stream's first request. */
export function tokenStreamAuthenticator(ca: CertificateAuthority): StreamAuthenticator {
  return (node: NodeIdentity, call: StreamCall): NodeIdentity => {
    if (call.metadata.get(TRANSPORT_METADATA)[0] !== 'tls') return node;
    const auth = call.metadata.get('authorization')[0];
    let claims;
    try {
      claims = ca.authenticate(typeof auth === 'string' ? auth : undefined);
    } catch (err) {
      if (err instanceof CaRefusal) throw new StreamRefused(GrpcStatus.UNAUTHENTICATED, `xDS on the TLS port needs the proxy's bootstrap token: ${err.message}`);
      throw err;
    }
    const namespace = node.metadata.NAMESPACE ?? 'default';
    if (namespace !== claims.ns) {
      throw new StreamRefused(GrpcStatus.PERMISSION_DENIED, `node metadata NAMESPACE ${quotedClaim(namespace)} is not bootstrap token ${claims.id}'s namespace "${claims.ns}"`);
    }
    // The control plane keeps a proxy's registration and config by node id: a proxy's id names its namespace, so
    // a token of another namespace may not take that id over (ads-server.ts also refuses an id held open by another identity).
    const idNamespace = ISTIO_NODE_ID.exec(node.id)?.[1];
    if (idNamespace !== undefined && idNamespace !== claims.ns) {
      throw new StreamRefused(GrpcStatus.PERMISSION_DENIED, `node id ${quotedClaim(node.id)} names namespace ${quotedClaim(idNamespace)}, not bootstrap token ${claims.id}'s "${claims.ns}"`);
    }
    const account = node.metadata.SERVICE_ACCOUNT;
    if (account !== undefined && account !== claims.sa) {
      throw new StreamRefused(GrpcStatus.PERMISSION_DENIED, `node metadata SERVICE_ACCOUNT ${quotedClaim(account)} is not bootstrap token ${claims.id}'s service account "${claims.sa}"`);
    }
    // A proxy that names no account claims none (policy sees no source workload for it); one that names one is proven.
    return node;
  };
}
