// Sidecar spec: which workloads it applies to and the hosts their proxies
// may reach (egress scoping: a proxy receives config only for these).

import type { ValueReader } from '../../src/config/yaml-reader.js';
import { hostNameProblem, readRequiredList, type SpecContext } from './istio-fields.js';
import type { SidecarEgressHost, SidecarSpec } from './istio-types.js';
import { readWorkloadSelector } from './service-entry.js';

const NAMESPACE = /^(\*|~|\.|[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)$/;

/** `namespace/dnsName`: "." is the Sidecar's namespace, "*" any, "~" none; dnsName may be "*" or "*.suffix". */
function readEgressHost(item: ValueReader, cx: SpecContext): SidecarEgressHost | undefined {
  const written = item.nonEmptyString();
  if (written === undefined) return undefined;
  const slash = written.indexOf('/');
  if (slash < 0) {
    item.problem(`must be "namespace/dnsName" (like "./*" or "istio-system/*"): "${written}"`);
    return undefined;
  }
  const namespace = written.slice(0, slash);
  const dnsName = written.slice(slash + 1).toLowerCase();
  if (!NAMESPACE.test(namespace)) {
    item.problem(`has a namespace that is not ".", "*", "~" or a namespace name: "${written}"`);
    return undefined;
  }
  const problem = hostNameProblem(dnsName, true);
  if (problem !== null) {
    item.problem(`${problem} (in "${written}")`);
    return undefined;
  }
  return { written, namespace: namespace === '.' ? cx.namespace : namespace, dnsName };
}

export function readSidecarSpec(v: ValueReader, cx: SpecContext): SidecarSpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const selectorField = obj.field('workloadSelector');
  const workloadSelector = selectorField.missing ? undefined : readWorkloadSelector(selectorField);
  const egressField = obj.field('egress');
  egressField.require();
  const items = egressField.list();
  if (!egressField.missing && items.length !== 1) {
    egressField.problem('must have exactly one listener (port-specific egress listeners are not in the subset)');
  }
  const egress = items.map((item) => {
    const listener = item.object();
    if (listener === undefined) return undefined;
    const hosts = readRequiredList(listener.field('hosts'), 'host').map((h) => readEgressHost(h, cx));
    listener.done();
    return hosts.includes(undefined) ? undefined : { hosts: hosts as SidecarEgressHost[] };
  });
  obj.done();
  if (egress.includes(undefined)) return undefined;
  return {
    ...(workloadSelector !== undefined ? { workloadSelector } : {}),
    egress: egress as { hosts: SidecarEgressHost[] }[],
  };
}
