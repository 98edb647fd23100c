// Istio's IstioCertificateService (src/xds/protos/istio/v1/auth/ca.proto),
// loaded lazily once per process: the control plane serves it, the proxy's
// identity client and `isthmus agent` call it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/proto-loader';

export const CERTIFICATE_SERVICE_NAME = 'istio.v1.auth.IstioCertificateService';

/** The request as proto-loader decodes it (keepCase, longs as strings). */
export interface IstioCertificateRequest {
  readonly csr?: string;
  readonly validity_duration?: string | number;
  readonly metadata?: unknown;
}

export interface IstioCertificateResponse {
  readonly cert_chain: readonly string[];
}

let loaded: ServiceDefinition | undefined;

function protoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'protos'), path.join(here, '..', '..', '..', 'src', 'xds', 'protos')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'istio')));
  if (found === undefined) throw new Error(`Istio CA proto not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** takes nothing; returns the service definition (loaded on first call). */
export function certificateServiceDefinition(): ServiceDefinition {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const pkg = protoLoader.loadSync('istio/v1/auth/ca.proto', {
    keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protoDir()],
  });
  loaded = pkg[CERTIFICATE_SERVICE_NAME] as ServiceDefinition;
  return loaded;
}
