// `isthmus proxy-config authz PROXY`, like `istioctl x authz check`: per
// inbound listener and filter chain, the authorization the sidecar enforces,
// read back from the RBAC filters the control plane sent it: ACTION, the
// AuthorizationPolicy (name.namespace, from Istio's Envoy policy names
// ns[<ns>]-policy[<name>]-rule[<i>]), its rule count, and DRY-RUN for the
// shadow rules (counted, never enforced). The RBAC shadow rules that gate
// ext_authz (stat prefix istio_ext_authz_) are the CUSTOM policies: enforced.
import { formatTable } from './admin-get.js';

type Json = Record<string, any>;
const RBAC_FILTER = 'envoy.filters.http.rbac';
const EXT_AUTHZ_PREFIX = 'istio_ext_authz_';
const POLICY_NAME = /^(?:istio-ext-authz-)?ns\[([^\]]*)\]-policy\[([^\]]*)\]-rule\[(\d+)\]$/;

/** Rule counts per policy (name.namespace); Envoy policy names that are not Istio's are listed as they are. */
function policiesOf(rules: Json): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of Object.keys((rules.policies ?? {}) as Json).sort()) {
    const m = POLICY_NAME.exec(name);
    const key = m === null ? name : `${m[2]}.${m[1]}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/** One enforced (or dry-run) AuthorizationPolicy on one listener's filter chain. */
export interface AuthzRow {
  readonly chain: string;
  readonly action: string;
  /** name.namespace; '' for an ALLOW filter with no policies (it denies every request). */
  readonly policy: string;
  readonly rules: number;
  readonly dryRun: boolean;
}

function rowsOf(chain: string, rules: Json | undefined, dryRun: boolean, rows: AuthzRow[], custom = false): void {
  if (rules === undefined || rules === null) return;
  const action = custom ? 'CUSTOM' : String(rules.action ?? 'ALLOW');
  const policies = policiesOf(rules);
  if (policies.size === 0 && !dryRun && action === 'ALLOW') rows.push({ chain, action, policy: '', rules: 0, dryRun });
  for (const [policy, count] of policies) rows.push({ chain, action, policy, rules: count, dryRun });
}

/** Takes the listeners a proxy was sent; returns the table (a line saying so when nothing is enforced). */
export function formatAuthz(listeners: readonly object[]): string {
  const rows = authzRows(listeners);
  if (rows.length === 0) return 'No AuthorizationPolicy applies to this proxy: every request is allowed.\n';
  return formatTable([
    ['LISTENER/CHAIN', 'ACTION', 'AuthorizationPolicy', 'RULES', 'DRY-RUN'],
    ...rows.map((r) => [r.chain, r.action, r.policy === '' ? '(no rules: denies every request)' : r.policy, String(r.rules), r.dryRun ? 'yes' : '']),
  ]);
}

/** The rows of formatAuthz (also `-o json`). */
export function authzRows(listeners: readonly object[]): AuthzRow[] {
  const rows: AuthzRow[] = [];
  for (const l of listeners as Json[]) {
    (l.filter_chains as Json[] | undefined ?? []).forEach((chain, i) => {
      const where = `${String(l.name)}/${String(chain.name ?? i)}`;
      for (const f of (chain.filters as Json[] | undefined) ?? []) {
        for (const hf of (f.typed_config?.http_filters as Json[] | undefined) ?? []) {
          if (hf.name !== RBAC_FILTER) continue;
          rowsOf(where, hf.typed_config?.rules, false, rows);
          const custom = hf.typed_config?.shadow_rules_stat_prefix === EXT_AUTHZ_PREFIX;
          rowsOf(where, hf.typed_config?.shadow_rules, !custom, rows, custom);
        }
      }
    });
  }
  return rows;
}
