// GET on a running control plane's admin API for the status commands
// (`isthmus proxy-status`, `isthmus proxy-config`): one bounded request, and
// failures as one line a person can act on.
import { OptionsError } from '../../src/cli/options.js';

const REQUEST_TIMEOUT_MS = 10_000;

export const DEFAULT_CONTROL_URL = 'http://127.0.0.1:15014';

/** The outcome: the parsed JSON body, or a message for stderr. */
export type AdminGetResult<T> = { readonly ok: true; readonly body: T } | { readonly ok: false; readonly message: string };

/** GETs `path` (with its query) from the admin API at `base`; 2xx JSON is ok, anything else a message. */
export async function adminGetJson<T>(base: string, path: string): Promise<AdminGetResult<T>> {
  const trimmed = base.replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(`${trimmed}${path}`);
  } catch {
    throw new OptionsError(`--control ${base}: not a URL (expected e.g. ${DEFAULT_CONTROL_URL})`);
  }
  let status: number;
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    status = res.status;
    text = await res.text();
  } catch (err) {
    const c = (err as { cause?: { code?: string; message?: string } }).cause;
    return { ok: false, message: `cannot reach the control plane at ${trimmed}: ${c?.code ?? c?.message ?? (err as Error).message}` };
  }
  if (status < 200 || status > 299) return { ok: false, message: `${url.pathname}: HTTP ${status}: ${text.trim().slice(0, 500)}` };
  try {
    return { ok: true, body: JSON.parse(text) as T };
  } catch {
    return { ok: false, message: `unexpected answer from ${url.href}: ${text.slice(0, 200)}` };
  }
}

/** Left-aligned columns separated by three spaces (istioctl's look); the last column is not padded. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('')).join('\n') + '\n';
}
