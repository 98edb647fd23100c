// A HandlerContext for adapter tests: its log keeps what handlers wrote, so a
// test can see a warning (a failed fetch, a full buffer) as an operator would.
import type { HandlerContext, InstanceValue, TemplateKind } from '../../../../control/mixer/adapter.js';

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string;
}

export function testContext(handlerName = 'h.test'): HandlerContext & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (obj: object, msg = '') => void lines.push({ level, obj, msg });
  return { handlerName, lines, log: { info: at('info'), warn: at('warn'), error: at('error') } };
}

export function instance(name: string, template: TemplateKind, fields: Record<string, unknown>, valueTypes?: InstanceValue['valueTypes']): InstanceValue {
  return valueTypes === undefined ? { name, template, fields } : { name, template, fields, valueTypes };
}

/** Waits until `probe` returns a value other than undefined, polling every 20 ms, up to `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
