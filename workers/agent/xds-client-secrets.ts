// The Secret type of the sidecar's ADS stream (SDS over ADS, as Envoy does
// for a TLS context whose SdsSecretConfig says `sds_config: {ads: {}}`): the
// names the active config references, and the Secrets the control plane sent
// for them, each checked by the same reader as static_resources.secrets. A
// Secret that fails the check NACKs the response and the last good ones stay.
import { formatProblem } from '../../src/config/config-error.js';
import { readSecretObject } from '../../src/config/parse-resource-object.js';
import type { SdsSecret, SdsSecrets } from '../../src/config/sds-secrets.js';
import type { Json } from '../../src/xds/xds-resources.js';

/** Bound on the names one proxy subscribes to (they come from config, which may be a peer's). */
export const MAX_SECRET_NAMES = 1024;

export interface HeldSecret {
  readonly secret: SdsSecret;
  /** Delta: the resource's version; SotW: the response's version_info. */
  readonly version: string;
  readonly receivedAt: string;
}

export type SecretProposal =
  | { readonly ok: false; readonly problems: readonly string[] }
  | { readonly ok: true; readonly secrets: SdsSecrets; commit(): void };

export class AdsSecretSet {
  private names = new Set<string>();
  private held = new Map<string, HeldSecret>();

  /** The names subscribed (sorted). */
  wanted(): Set<string> {
    return new Set(this.names);
  }

  /** Replaces the wanted names; true when they changed. Held secrets no longer wanted are dropped. */
  want(names: Iterable<string>): boolean {
    const next = new Set([...names].slice(0, MAX_SECRET_NAMES));
    if (next.size === this.names.size && [...next].every((n) => this.names.has(n))) return false;
    this.names = next;
    for (const name of [...this.held.keys()]) if (!next.has(name)) this.held.delete(name);
    return true;
  }

  /** The accepted Secrets, as the data plane takes them. */
  secrets(): SdsSecrets {
    const out: Record<string, SdsSecret> = {};
    for (const [name, h] of this.held) out[name] = h.secret;
    return out;
  }

  entries(): ReadonlyMap<string, HeldSecret> {
    return this.held;
  }

  /** Checks a response's Secrets; nothing changes until commit(). Names not subscribed are ignored, as Envoy does. */
  propose(upserts: readonly { name: string; json: Json; version: string }[], removed: readonly string[], replaceAll: boolean): SecretProposal {
    const next = new Map(replaceAll ? [] : this.held);
    for (const name of removed) next.delete(name);
    const problems: string[] = [];
    const at = new Date().toISOString();
    for (const u of upserts) {
      const label = `Secret ${u.name === '' ? '(unnamed)' : u.name}`;
      if (!this.names.has(u.name)) continue;
      const read = readSecretObject(u.json, label);
      if (read.value === undefined) problems.push(...read.problems.map(formatProblem));
      else next.set(u.name, { secret: read.value, version: u.version, receivedAt: at });
    }
    if (problems.length > 0) return { ok: false, problems: problems.slice(0, 20) };
    const secrets: Record<string, SdsSecret> = {};
    for (const [name, h] of next) secrets[name] = h.secret;
    return { ok: true, secrets, commit: () => { this.held = next; } };
  }
}
