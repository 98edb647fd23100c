// Isthmus's policy service (src/xds/protos/isthmus/mixer/v1/mixer.proto),
// loaded lazily once per process: the proxy's agent calls it, the control
// plane serves it, tests stand it up.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/proto-loader';

export const MIXER_SERVICE_NAME = 'isthmus.mixer.v1.Mixer';

let loaded: ServiceDefinition | undefined;

function protoDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'protos'), path.join(here, '..', '..', '..', 'src', 'xds', 'protos')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'isthmus', 'mixer')));
  if (found === undefined) throw new Error(`Mixer proto not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** takes nothing; returns the Mixer service definition (messages keepCase, int64 as numbers, enums as names, defaults filled). */
export function mixerServiceDefinition(): ServiceDefinition {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const googleDir = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps', 'googleapis');
  const pkg = protoLoader.loadSync('isthmus/mixer/v1/mixer.proto', {
    keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [protoDir(), googleDir],
  });
  loaded = pkg[MIXER_SERVICE_NAME] as ServiceDefinition;
  return loaded;
}
