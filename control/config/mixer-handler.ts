// The `handler` kind (config.istio.io/v1alpha2): which adapter, with what
// params. The adapter validates its own params (parseParams, behind
// control/mixer/adapter.ts); a problem it names (AdapterParamError's field
// path) is reported at that field's line under spec.params.
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { ValueReader } from '../../src/config/yaml-reader.js';
import { closestName } from '../../src/did-you-mean.js';
import { AdapterParamError } from '../mixer/adapter.js';
import { adapterByName, adapterNames } from '../mixer/adapter-registry.js';
import { markLine, type SpecContext } from './istio-fields.js';
import type { PolicyHandlerSpec } from './mixer-types.js';

/** The YAML node at an AdapterParamError's field path (`overrides[1].maxAmount`) inside params, or null when it is not there. */
function nodeAt(v: ValueReader, field: string): Node | null {
  let node: Node | null = v.node;
  for (const part of field.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    node = node === null ? null : v.resolve(node);
    if (node === null) return null;
    if (part.startsWith('[') && isSeq(node)) node = (node.items[Number(part.slice(1, -1))] as Node | undefined) ?? null;
    else if (isMap(node)) node = (node.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === part)?.value as Node | undefined) ?? null;
    else return null;
  }
  return node;
}

function paramPath(base: string, field: string): string {
  if (field === '') return base;
  return field.startsWith('[') ? `${base}${field}` : `${base}.${field}`;
}

export function readPolicyHandlerSpec(v: ValueReader, cx: SpecContext): PolicyHandlerSpec | undefined {
  const obj = v.object();
  if (obj === undefined) return undefined;
  const which = obj.oneOf(['compiledAdapter', 'adapter'] as const, true);
  let adapterName: string | undefined;
  let adapterOk = false;
  if (which !== null && which !== undefined) {
    const field = obj.field(which);
    adapterName = field.nonEmptyString();
    markLine(cx, field);
    if (adapterName !== undefined) {
      if (adapterByName(adapterName) === undefined) {
        const near = closestName(adapterName, adapterNames());
        field.problem(`names no adapter: "${adapterName}"${near === undefined ? '' : ` (did you mean "${near}"?)`}; adapters: ${adapterNames().join(', ') || 'none'}`);
      } else adapterOk = true;
    }
  }
  const paramsField = obj.field('params');
  const raw = paramsField.missing ? {} : paramsField.plain();
  let params: unknown;
  let paramsOk = false;
  const adapter = adapterOk ? adapterByName(adapterName!) : undefined;
  if (adapter !== undefined) {
    try {
      params = adapter.parseParams(raw);
      paramsOk = true;
    } catch (err) {
      if (err instanceof AdapterParamError) {
        // The adapters name the field inside params ('params' for params itself) and often start their message with it.
        const field = err.field === 'params' ? '' : err.field;
        const message = err.message.startsWith(err.field) ? err.message.slice(err.field.length).trimStart() : err.message;
        const path = paramPath(paramsField.path, field);
        v.ctx.problems.add(nodeAt(paramsField, field) ?? paramsField.node ?? v.node, path, `${message} (adapter ${adapter.name})`);
      } else {
        paramsField.problem(`was refused by adapter ${adapter.name}: ${(err as Error).message}`);
      }
    }
  }
  obj.done();
  if (adapter === undefined || !paramsOk) return undefined;
  return { adapter: adapter.name, params };
}
