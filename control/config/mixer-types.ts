// The validated form of Mixer's policy kinds (config.istio.io/v1alpha2
// `handler`, `instance`, `rule`), as the store keeps them: plain data
// (expression text, adapter params as the adapter's parseParams returned
// them), checked once at the edge. control/mixer/policy-config.ts compiles
// the served set of them into the rules the Mixer service runs.
import type { TemplateKind } from '../mixer/adapter.js';

export const POLICY_API_VERSION = 'config.istio.io/v1alpha2';
export const POLICY_KINDS = ['handler', 'instance', 'rule'] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

export interface PolicyHandlerSpec {
  /** The adapter's name (`compiledAdapter` or `adapter`, which Isthmus treats alike). */
  readonly adapter: string;
  /** What the adapter's parseParams returned: plain, structured-clonable data. */
  readonly params: unknown;
}

/** An instance's params: expression text at the leaves, maps of them for dimensions, variables, properties. */
export type InstanceParam = string | { readonly [key: string]: InstanceParam };

export interface PolicyInstanceSpec {
  readonly template: TemplateKind;
  readonly params: Readonly<Record<string, InstanceParam>>;
}

export interface PolicyRuleAction {
  /** As written: `name` (the rule's namespace), `name.namespace`, or Istio's older `name.kind[.namespace]`. */
  readonly handler: string;
  readonly instances: readonly string[];
  readonly name?: string;
}

export interface PolicyRuleSpec {
  /** The match expression; '' matches every request. */
  readonly match: string;
  readonly actions: readonly PolicyRuleAction[];
}
