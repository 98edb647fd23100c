// What the proxy's policy filter needs to know of the policy in force (for
// control/translate/mixer-filter.ts): which attributes a Check and a Report
// must carry (only those are computed per request), which quotas to ask for,
// and whether to Check or Report at all.
import type { TemplateKind } from './adapter.js';
import type { PolicyConfig, PolicyRuleConfig } from './policy-config.js';
import { isWorkloadAttribute, onlyDerived, WORKLOAD_INPUTS } from './workload-attribute-bag.js';

export interface PolicySummary {
  readonly checkAttributes: string[];
  readonly reportAttributes: string[];
  /** Quota instances (name.namespace) a Check asks for, one unit each. */
  readonly quotas: { quota: string; charge: number }[];
  readonly hasCheckRules: boolean;
  readonly hasReportRules: boolean;
}

/** Quota is asked for in the Check, so its instances' attributes go with the Check. */
const CHECK_TEMPLATES: ReadonlySet<TemplateKind> = new Set(['checknothing', 'listentry', 'authorization', 'quota']);
const REPORT_TEMPLATES: ReadonlySet<TemplateKind> = new Set(['metric', 'logentry']);

/** The attributes a rule needs for the templates given: its match's, and those of its instances of those templates. */
function attributesFor(rule: PolicyRuleConfig, templates: ReadonlySet<TemplateKind>, into: Set<string>): boolean {
  let any = false;
  for (const action of rule.actions) {
    for (const instance of action.instances) {
      if (!templates.has(instance.template)) continue;
      any = true;
      for (const a of instance.attributes) into.add(a);
    }
  }
  if (any && rule.match !== null) for (const a of rule.match.attributes) into.add(a);
  return any;
}

/**
 * The names the proxy sends: the source workload's attributes are the control plane's to derive (workload-attribute-bag.ts),
 * so the proxy sends what they are looked up by instead of names it cannot compute.
 */
function proxyAttributes(names: Set<string>): string[] {
  const out = new Set<string>();
  for (const name of names) {
    if (isWorkloadAttribute(name)) for (const input of WORKLOAD_INPUTS) out.add(input);
    if (!onlyDerived(name)) out.add(name);
  }
  return [...out].sort();
}

/** Takes the compiled policy; returns what the proxy's filter config is made from. */
export function summarizePolicy(config: PolicyConfig): PolicySummary {
  const check = new Set<string>();
  const report = new Set<string>();
  const quotas = new Set<string>();
  let hasCheckRules = false;
  let hasReportRules = false;
  for (const rule of config.rules) {
    if (attributesFor(rule, CHECK_TEMPLATES, check)) hasCheckRules = true;
    if (attributesFor(rule, REPORT_TEMPLATES, report)) hasReportRules = true;
    for (const action of rule.actions) for (const instance of action.instances) if (instance.template === 'quota') quotas.add(instance.name);
  }
  return {
    checkAttributes: proxyAttributes(check),
    reportAttributes: proxyAttributes(report),
    quotas: [...quotas].sort().map((quota) => ({ quota, charge: 1 })),
    hasCheckRules,
    hasReportRules,
  };
}
