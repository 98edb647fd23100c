// `--bootstrap` and `--control` together: the file's static listeners and
// clusters plus the ones from xDS, as one Bootstrap. Each side was validated
// on its own; what they cannot share (a name, a bound address) is an error
// that rejects the newer side's config.
import type { Bootstrap } from '../../src/config/bootstrap-types.js';

export const EMPTY_BOOTSTRAP: Bootstrap = Object.freeze({ listeners: Object.freeze([]), clusters: Object.freeze([]) });

/** The file's resources, then xDS's; throws naming each clash. */
export function mergeBootstraps(file: Bootstrap, xds: Bootstrap): Bootstrap {
  if (xds.listeners.length === 0 && xds.clusters.length === 0) return file;
  const problems: string[] = [];
  const listenerNames = new Set(file.listeners.map((l) => l.name));
  const binds = new Set(file.listeners.filter((l) => l.address.port !== 0).map((l) => `${l.address.address}:${l.address.port}`));
  for (const listener of xds.listeners) {
    if (listenerNames.has(listener.name)) problems.push(`Listener ${listener.name}: the bootstrap file already defines a listener of that name`);
    const bind = `${listener.address.address}:${listener.address.port}`;
    if (listener.address.port !== 0 && binds.has(bind)) problems.push(`Listener ${listener.name}: ${bind} is already bound by a listener of the bootstrap file`);
  }
  const clusterNames = new Set(file.clusters.map((c) => c.name));
  for (const cluster of xds.clusters) {
    if (clusterNames.has(cluster.name)) problems.push(`Cluster ${cluster.name}: the bootstrap file already defines a cluster of that name`);
  }
  if (problems.length > 0) throw new Error(problems.join('; '));
  return {
    ...file,
    listeners: [...file.listeners, ...xds.listeners],
    clusters: [...file.clusters, ...xds.clusters],
  };
}
