// Operator-written adapters (`isthmus control --policy-adapter FILE`): each
// file is an ES module whose default export, or any named export, is an
// Adapter (control/mixer/adapter.ts). It is imported and registered on the
// gRPC thread (the store validates handler params with it) and in every
// adapter pool thread (where its handlers live).
import { pathToFileURL } from 'node:url';
import { isAbsolute, resolve } from 'node:path';
import type { Adapter } from './adapter.js';
import { adapterByName, registerAdapter } from './adapter-registry.js';

/** takes a path as the operator wrote it; returns the file URL every thread imports. */
export function pluginUrl(file: string): string {
  return pathToFileURL(isAbsolute(file) ? file : resolve(file)).href;
}

function isAdapter(value: unknown): value is Adapter {
  if (typeof value !== 'object' || value === null) return false;
  const a = value as Partial<Adapter>;
  return typeof a.name === 'string' && Array.isArray(a.templates) && typeof a.parseParams === 'function' && typeof a.createHandler === 'function';
}

/** takes plug-in module URLs; imports each and registers the adapters it exports (one already registered under that name is kept). Throws naming the file when it exports none. */
export async function loadPluginAdapters(urls: readonly string[]): Promise<void> {
  for (const url of urls) {
    const module = (await import(url)) as Record<string, unknown>;
    const adapters = Object.values(module).filter(isAdapter);
    if (adapters.length === 0) throw new Error(`${url} exports no policy adapter (an object with name, templates, parseParams and createHandler)`);
    for (const adapter of adapters) if (adapterByName(adapter.name) === undefined) registerAdapter(adapter);
  }
}
