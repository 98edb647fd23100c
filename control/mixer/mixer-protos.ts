// The two policy services the control plane serves, loaded once per process
// on first use: Isthmus's isthmus.mixer.v1.Mixer (src/xds/protos) and Envoy's
// envoy.service.auth.v3.Authorization (ext_authz, from @grpc/grpc-js-xds's
// deps). Messages decode keepCase, int64 as numbers (amounts and sizes stay far
// below 2^53), enums as strings, oneofs named.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/proto-loader';

export const MIXER_SERVICE_NAME = 'isthmus.mixer.v1.Mixer';
export const EXT_AUTHZ_SERVICE_NAME = 'envoy.service.auth.v3.Authorization';

const LOAD_OPTIONS = { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true } as const;

let mixer: ServiceDefinition | undefined;
let extAuthz: ServiceDefinition | undefined;

function isthmusProtoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, '..', '..', 'src', 'xds', 'protos'), path.join(here, '..', '..', '..', 'src', 'xds', 'protos')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'isthmus', 'mixer')));
  if (found === undefined) throw new Error(`the Mixer proto was not found (looked in ${candidates.join(', ')})`);
  return found;
}

function depsDir(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
}

function protoLoader(): typeof import('@grpc/proto-loader') {
  return createRequire(import.meta.url)('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
}

/** takes nothing; returns isthmus.mixer.v1.Mixer's service definition (loaded on first call). */
export function mixerServiceDefinition(): ServiceDefinition {
  if (mixer !== undefined) return mixer;
  const deps = depsDir();
  const pkg = protoLoader().loadSync('isthmus/mixer/v1/mixer.proto', {
    ...LOAD_OPTIONS, includeDirs: [isthmusProtoDir(), path.join(deps, 'googleapis')],
  });
  mixer = pkg[MIXER_SERVICE_NAME] as ServiceDefinition;
  return mixer;
}

/** takes nothing; returns envoy.service.auth.v3.Authorization's service definition (loaded on first call). */
export function extAuthzServiceDefinition(): ServiceDefinition {
  if (extAuthz !== undefined) return extAuthz;
  const deps = depsDir();
  const pkg = protoLoader().loadSync('envoy/service/auth/v3/external_auth.proto', {
    ...LOAD_OPTIONS, includeDirs: ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((dir) => path.join(deps, dir)),
  });
  extAuthz = pkg[EXT_AUTHZ_SERVICE_NAME] as ServiceDefinition;
  return extAuthz;
}
