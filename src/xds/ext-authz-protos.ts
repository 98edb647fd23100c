// Envoy's envoy.service.auth.v3.Authorization (ext_authz) from @grpc/grpc-js-xds's
// deps/envoy-api, loaded lazily once per process: the proxy's agent calls it
// for the ext_authz filter; tests stand servers up with it.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ServiceDefinition } from '@grpc/proto-loader';

export const AUTHORIZATION_SERVICE_NAME = 'envoy.service.auth.v3.Authorization';

let loaded: ServiceDefinition | undefined;

/** takes nothing; returns the Authorization service definition (keepCase, int64 as numbers, enums as names, oneofs named). */
export function authorizationServiceDefinition(): ServiceDefinition {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const deps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const pkg = protoLoader.loadSync('envoy/service/auth/v3/external_auth.proto', {
    keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true,
    includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((dir) => path.join(deps, dir)),
  });
  loaded = pkg[AUTHORIZATION_SERVICE_NAME] as ServiceDefinition;
  return loaded;
}
