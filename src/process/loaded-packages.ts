// Which npm packages this process has loaded, for /server_info: a sidecar's
// memory is mostly isolates and modules, so what a role loads is worth
// seeing (e.g. that a file-configured proxy never loaded @grpc/*). Read from
// the CommonJS module cache, which also holds every native addon (.node) an
// ES module package loads (lmdb, uWebSockets.js); a pure-ESM package that
// loads no addon does not show.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Takes nothing; returns the sorted, distinct package names (`@scope/name` or `name`) in the module cache. */
export function loadedPackages(): string[] {
  const names = new Set<string>();
  for (const file of Object.keys(require.cache)) {
    const at = file.lastIndexOf('/node_modules/');
    if (at === -1) continue;
    const parts = file.slice(at + '/node_modules/'.length).split('/');
    const name = parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : parts[0]!;
    names.add(name);
  }
  return [...names].sort();
}
