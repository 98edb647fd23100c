// Envoy's envoy.service.auth.v3.Authorization/Check on the control plane's
// gRPC server, answered by the same rules as isthmus.mixer.v1.Mixer/Check
// (the AttributeContext is read as Istio attributes), so a real Envoy's
// ext_authz filter, or Isthmus's, gets the same decision a Mixer Check would.
// Allowed: status OK and an ok_response. Denied: the rule's status code
// (PERMISSION_DENIED for a denier) and a denied_response with 403 (429 for an
// exhausted quota). A full adapter pool answers the RPC UNAVAILABLE (the
// filter's failure_mode_allow decides).
import { status as GrpcStatus, type Server, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import type { Logger } from '../../src/log.js';
import { extAuthzServiceDefinition } from './mixer-protos.js';
import { attributesFromContext, type AttributeContextMessage } from './ext-authz-attributes.js';
import { PoolFullError } from './adapter-pool.js';
import { StatusCode } from './adapter.js';
import type { PolicyRuntime } from './policy-runtime.js';
import { serveUnaryFast, type FastHandler } from './fast-unary.js';
import type { NativeGrpcServer } from './native-grpc-server.js';

export interface ExtAuthzCheckRequest {
  attributes?: AttributeContextMessage;
}

export interface ExtAuthzCheckResponse {
  status: { code: number; message: string };
  ok_response?: object;
  denied_response?: { status: { code: number }; body: string };
}

const HTTP_STATUS: Readonly<Record<number, number>> = { [StatusCode.PERMISSION_DENIED]: 403, [StatusCode.RESOURCE_EXHAUSTED]: 429, 16: 401 };

/** takes the gRPC server, the policy runtime and the policy port's server (null: none); adds Envoy's Authorization service to them. */
export function addExtAuthzService(server: Server, runtime: PolicyRuntime, log: Logger, policyPort: NativeGrpcServer | null = null): void {
  const implementation = {
    Check(call: ServerUnaryCall<ExtAuthzCheckRequest, ExtAuthzCheckResponse>, callback: sendUnaryData<ExtAuthzCheckResponse>): void {
      const started = performance.now();
      runtime.check(attributesFromContext(call.request.attributes, runtime.workloads), new Map(), '').then(
        (answer) => {
          runtime.countCheck('ext_authz', answer, started);
          if (answer.code === StatusCode.OK) {
            callback(null, { status: { code: 0, message: '' }, ok_response: {} });
            return;
          }
          const message = answer.message || 'denied by policy';
          callback(null, {
            status: { code: answer.code, message },
            denied_response: { status: { code: HTTP_STATUS[answer.code] ?? 403 }, body: `${message}\n` },
          });
        },
        (err: unknown) => {
          runtime.countCheck('ext_authz', null, started);
          if (err instanceof PoolFullError) {
            callback({ code: GrpcStatus.UNAVAILABLE, details: err.message });
            return;
          }
          log.error({ err }, 'ext_authz check failed');
          callback({ code: GrpcStatus.INTERNAL, details: 'the policy check failed' });
        },
      );
    },
  };
  server.addService(extAuthzServiceDefinition(), implementation);
  serveUnaryFast(server, extAuthzServiceDefinition(), implementation as unknown as Record<string, FastHandler>);
  policyPort?.serve(extAuthzServiceDefinition(), implementation);
}
