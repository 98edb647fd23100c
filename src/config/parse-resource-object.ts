// Validation of Envoy resources that arrive as plain objects (xDS, already
// decoded) rather than as a file: the object becomes a `yaml` Document so the
// very readers that check a bootstrap file run unchanged; problems then have
// no line (line = null) and are labelled by resource instead of file name,
// e.g. `Cluster outbound|9080|v1|reviews.default.svc.cluster.local: dns_lookup_family is not supported`.
import { Document, LineCounter, type Node } from 'yaml';
import type { Bootstrap, Cluster, Listener, RouteConfig } from './bootstrap-types.js';
import { readCluster } from './cluster.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { deepFreeze } from './deep-freeze.js';
import { readListener } from './listener.js';
import { readBootstrap } from './parse-bootstrap.js';
import type { ClusterReference } from './route-action.js';
import { readRouteConfig } from './route-config.js';
import { readSecret, type SdsSecret } from './sds-secrets.js';
import { ProblemList, ValueReader, type ReadContext } from './yaml-reader.js';

export interface ObjectReadResult<T> {
  /** undefined when any problem was found. */
  readonly value: T | undefined;
  readonly problems: readonly ConfigProblem[];
}

/** Runs `read` over `value` as if it were a YAML document; `label` names it in every problem. */
export function readResourceObject<T>(value: unknown, label: string, read: (root: ValueReader) => T | undefined): ObjectReadResult<T> {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  const problems = new ProblemList(label, new LineCounter());
  const ctx: ReadContext = { doc, problems, caseInsensitiveEnums: true, singleMessageAsList: true };
  const rootNode = new ValueReader(ctx, null, '').resolve(doc.contents as Node | null);
  if (rootNode === null) {
    problems.add(null, '', 'is empty');
    return { value: undefined, problems: problems.problems };
  }
  const result = read(new ValueReader(ctx, rootNode, ''));
  const ok = problems.problems.length === 0 && result !== undefined;
  if (!ok && problems.problems.length === 0) problems.add(rootNode, '', 'is invalid');
  return { value: ok ? result : undefined, problems: problems.problems };
}

/** extensions.transport_sockets.tls.v3.Secret (an SDS Secret sent over ADS). */
export function readSecretObject(value: unknown, label: string): ObjectReadResult<SdsSecret> {
  return readResourceObject(value, label, readSecret);
}

/** config.listener.v3.Listener (HCM with an inline route_config); cluster names its routes use are pushed to `refs`. */
export function readListenerObject(value: unknown, label: string, refs: ClusterReference[] = []): ObjectReadResult<Listener> {
  return readResourceObject(value, label, (root) => readListener(root, 0, refs));
}

/** config.route.v3.RouteConfiguration. */
export function readRouteConfigObject(value: unknown, label: string, refs: ClusterReference[] = []): ObjectReadResult<RouteConfig> {
  return readResourceObject(value, label, (root) => readRouteConfig(root, refs));
}

/** config.cluster.v3.Cluster in the data plane's STATIC form (load_assignment inline). */
export function readClusterObject(value: unknown, label: string): ObjectReadResult<Cluster> {
  return readResourceObject(value, label, readCluster);
}

/** A whole bootstrap given as an object; throws ConfigError (every problem labelled `label`), else a deep-frozen Bootstrap. */
export function parseBootstrapObject(value: unknown, label: string): Bootstrap {
  const result = readResourceObject(value, label, readBootstrap);
  if (result.value === undefined) throw new ConfigError(result.problems);
  return deepFreeze(result.value);
}
