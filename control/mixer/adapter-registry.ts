// The adapters a `handler` resource may name: the seven of Istio's that
// Isthmus builds in, and any an operator registers. The registry is per
// thread: the control plane's adapter pool threads import this module and get
// the built-ins; a custom adapter must be registered in a module both the
// main thread (params validation) and the pool threads load.
import type { Adapter } from './adapter.js';
import { denierAdapter } from './adapters/denier.js';
import { fluentdAdapter } from './adapters/fluentd.js';
import { listAdapter } from './adapters/list.js';
import { memquotaAdapter } from './adapters/memquota.js';
import { prometheusAdapter } from './adapters/prometheus.js';
import { statsdAdapter } from './adapters/statsd.js';
import { stdioAdapter } from './adapters/stdio.js';

const adapters = new Map<string, Adapter>();

/** Takes an adapter; adds it under its name. Throws when the name is taken or the adapter is malformed. */
export function registerAdapter(adapter: Adapter): void {
  if (typeof adapter?.name !== 'string' || !/^[a-zA-Z][a-zA-Z0-9_-]*$/.test(adapter.name)) {
    throw new Error(`an adapter's name must be letters, digits, '_' or '-' (starting with a letter), not ${JSON.stringify(adapter?.name)}`);
  }
  if (typeof adapter.parseParams !== 'function' || typeof adapter.createHandler !== 'function' || !Array.isArray(adapter.templates)) {
    throw new Error(`adapter "${adapter.name}" must have templates, parseParams and createHandler`);
  }
  if (adapters.has(adapter.name)) throw new Error(`an adapter named "${adapter.name}" is already registered`);
  adapters.set(adapter.name, adapter);
}

/** Takes a handler's adapter name (e.g. "memquota"); returns the adapter, or undefined when none has that name. */
export function adapterByName(name: string): Adapter | undefined {
  return adapters.get(name);
}

/** Returns the registered adapters' names, sorted (for error messages: "known adapters: ..."). */
export function adapterNames(): string[] {
  return [...adapters.keys()].sort();
}

for (const adapter of [denierAdapter, listAdapter, memquotaAdapter, prometheusAdapter, stdioAdapter, statsdAdapter, fluentdAdapter]) {
  registerAdapter(adapter);
}
