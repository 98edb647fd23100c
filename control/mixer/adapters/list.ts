// Istio's `list` adapter: a listentry instance's value is looked up in a list
// (strings, case-insensitive strings, IP ranges, RE2 regexes) that is either
// given inline (`overrides`) or fetched from providerUrl (http(s) or a file)
// every refreshInterval. As in Istio, a failed fetch keeps the last list, and
// a list that has not been refreshed within `ttl` is discarded: from then on
// (until a fetch succeeds) every Check answers UNAVAILABLE, i.e. the request is
// denied, whether the list is a whitelist or a blacklist. The fetched body is
// bounded (MAX_LIST_BYTES, MAX_LIST_ENTRIES): a provider cannot exhaust memory.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdapterParamError, StatusCode, type Adapter, type AdapterHandler, type CheckResult, type HandlerContext, type InstanceValue } from '../adapter.js';
import {
  readBool,
  readDurationMs,
  readEnum,
  readNumber,
  readObject,
  readString,
  readStringList,
} from './adapter-params.js';
import { valueString } from './instance-fields.js';
import { checkListEntry, compileList, LIST_ENTRY_TYPES, splitListText, type ListEntryType, type ListMatcher } from './list-entries.js';

/** The largest list body a provider may send. */
export const MAX_LIST_BYTES = 8 * 1024 * 1024;
/** The most entries a list (fetched plus overrides) may hold. */
export const MAX_LIST_ENTRIES = 200_000;
/** The most regexes an in-memory list may hold and still run on the gRPC thread. */
export const MAX_INLINE_REGEXES = 64;

export interface ListParams {
  /** '' for an inline list; an http(s) URL; or an absolute file path. */
  readonly providerUrl: string;
  readonly refreshIntervalMs: number;
  readonly ttlMs: number;
  readonly cachingIntervalMs: number;
  readonly cachingUseCount: number;
  readonly overrides: readonly string[];
  readonly entryType: ListEntryType;
  readonly blacklist: boolean;
}

function parseProviderUrl(text: string): string {
  if (text === '') return '';
  if (text.startsWith('file://')) {
    try {
      return fileURLToPath(text);
    } catch (err) {
      throw new AdapterParamError('providerUrl', `providerUrl "${text}" is not a valid file URL: ${(err as Error).message}`);
    }
  }
  if (isAbsolute(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AdapterParamError('providerUrl', `providerUrl "${text}" must be an http(s) URL or an absolute file path`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.host === '') {
    throw new AdapterParamError('providerUrl', `providerUrl "${text}" must be an http(s) URL with a host, or an absolute file path`);
  }
  return url.href;
}

export function parseListParams(raw: unknown): ListParams {
  const p = readObject(raw, '', ['providerUrl', 'refreshInterval', 'ttl', 'cachingInterval', 'cachingUseCount', 'overrides', 'entryType', 'blacklist']);
  const providerUrl = parseProviderUrl(readString(p, 'providerUrl', '', ''));
  const refreshIntervalMs = readDurationMs(p, 'refreshInterval', '', 60_000, providerUrl === '' ? 0 : 1000);
  const ttlMs = readDurationMs(p, 'ttl', '', 300_000);
  if (providerUrl !== '' && ttlMs < refreshIntervalMs) {
    throw new AdapterParamError('ttl', `ttl must be at least refreshInterval (Istio advises over twice it); ttl is ${ttlMs}ms and refreshInterval ${refreshIntervalMs}ms`);
  }
  const entryType = readEnum(p, 'entryType', '', LIST_ENTRY_TYPES, 'STRINGS');
  const overrides = readStringList(p, 'overrides', '', MAX_LIST_ENTRIES);
  overrides.forEach((entry, i) => {
    const problem = checkListEntry(entry, entryType);
    if (problem !== null) throw new AdapterParamError(`overrides[${i}]`, `overrides[${i}]: ${problem}`);
  });
  return {
    providerUrl,
    refreshIntervalMs,
    ttlMs,
    cachingIntervalMs: readDurationMs(p, 'cachingInterval', '', 300_000),
    cachingUseCount: readNumber(p, 'cachingUseCount', '', 10_000, { min: 0, max: 2 ** 31 - 1, integer: true }),
    overrides,
    entryType,
    blacklist: readBool(p, 'blacklist', '', false),
  };
}

function readBounded(response: IncomingMessage, source: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_LIST_BYTES) {
        response.destroy(new Error(`the list from ${source} is larger than ${MAX_LIST_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
    response.on('aborted', () => reject(new Error(`the connection to ${source} closed before the list was complete`)));
  });
}

/** Takes a providerUrl (http(s) URL or file path) and a timeout; returns the list's text. Rejects on any failure. */
export async function fetchListText(source: string, timeoutMs: number): Promise<string> {
  if (!source.startsWith('http://') && !source.startsWith('https://')) {
    const file = await open(source, 'r');
    try {
      const { size } = await file.stat();
      if (size > MAX_LIST_BYTES) throw new Error(`the list file ${source} is ${size} bytes, over the limit of ${MAX_LIST_BYTES}`);
      return (await file.readFile()).toString('utf8');
    } finally {
      await file.close();
    }
  }
  const get = source.startsWith('https://') ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const request = get(source, { timeout: timeoutMs }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`${source} answered ${response.statusCode}`));
        return;
      }
      readBounded(response, source).then(resolve, reject);
    });
    request.on('timeout', () => request.destroy(new Error(`${source} did not answer within ${timeoutMs}ms`)));
    request.on('error', reject);
  });
}

class ListHandler implements AdapterHandler {
  private list: ListMatcher | null = null;
  private lastError = 'the list has not been fetched yet';
  private lastHash = '';
  private fetching = false;
  private closed = false;
  private firstLoad: Promise<void> | null = null;
  private readonly refreshTimer: NodeJS.Timeout | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;

  constructor(private readonly params: ListParams, private readonly context: HandlerContext) {
    if (params.providerUrl === '') {
      this.list = compileList(params.overrides, params.entryType);
      return;
    }
    // checks that arrive before the first fetch ends wait for it
    this.firstLoad = this.refresh().finally(() => {
      this.firstLoad = null;
    });
    this.refreshTimer = setInterval(() => void this.refresh(), params.refreshIntervalMs).unref();
    this.resetPurgeTimer();
  }

  /** Fetches the list once; on success installs it and restarts the ttl, on failure keeps the last list. */
  async refresh(): Promise<void> {
    if (this.fetching || this.closed) return;
    this.fetching = true;
    const { providerUrl, entryType, overrides } = this.params;
    try {
      const text = await fetchListText(providerUrl, Math.min(this.params.refreshIntervalMs, 30_000));
      const hash = createHash('sha256').update(text).digest('hex');
      if (hash !== this.lastHash || this.list === null) {
        const entries = splitListText(text);
        if (entries.length + overrides.length > MAX_LIST_ENTRIES) throw new Error(`the list from ${providerUrl} has ${entries.length} entries, over the limit of ${MAX_LIST_ENTRIES}`);
        entries.forEach((entry, i) => {
          const problem = checkListEntry(entry, entryType);
          if (problem !== null) throw new Error(`line ${i + 1} of the list from ${providerUrl}: ${problem}`);
        });
        if (this.closed) return;
        this.list = compileList([...overrides, ...entries], entryType);
        this.lastHash = hash;
        this.context.log.info({ handler: this.context.handlerName, entries: this.list.size }, 'installed a new list');
      }
      this.lastError = '';
      this.resetPurgeTimer();
    } catch (err) {
      this.lastError = (err as Error).message;
      this.context.log.warn({ handler: this.context.handlerName, err: this.lastError }, 'list fetch failed; keeping the last list until its ttl passes');
    } finally {
      this.fetching = false;
    }
  }

  private resetPurgeTimer(): void {
    if (this.purgeTimer !== null) clearTimeout(this.purgeTimer);
    this.purgeTimer = setTimeout(() => this.purge(), this.params.ttlMs).unref();
  }

  private purge(): void {
    if (this.list === null) return;
    this.context.log.warn({ handler: this.context.handlerName, ttlMs: this.params.ttlMs }, 'list not refreshed within its ttl: discarded');
    this.list = null;
    this.lastError ||= `not refreshed within ttl ${this.params.ttlMs}ms`;
  }

  check(instances: readonly InstanceValue[]): CheckResult | Promise<CheckResult> {
    if (this.list === null && this.firstLoad !== null) return this.firstLoad.then(() => this.answer(instances));
    return this.answer(instances);
  }

  private answer(instances: readonly InstanceValue[]): CheckResult {
    const { blacklist, cachingIntervalMs, cachingUseCount, providerUrl } = this.params;
    const list = this.list;
    if (list === null) {
      // Istio's handler returns its fetch error here, which fails the Check; a short validity lets the proxy re-ask soon
      return { code: StatusCode.UNAVAILABLE, message: `list from ${providerUrl} is not available: ${this.lastError}`, validDurationMs: 1000, validUseCount: 1 };
    }
    for (const instance of instances) {
      const value = instance.fields.value;
      const found = list.has(value);
      const shown = valueString(value);
      if (blacklist && found) return { code: StatusCode.PERMISSION_DENIED, message: `${shown} is blacklisted`, validDurationMs: cachingIntervalMs, validUseCount: cachingUseCount };
      if (!blacklist && !found) return { code: StatusCode.NOT_FOUND, message: `${shown} is not whitelisted`, validDurationMs: cachingIntervalMs, validUseCount: cachingUseCount };
    }
    return { code: StatusCode.OK, message: '', validDurationMs: cachingIntervalMs, validUseCount: cachingUseCount };
  }

  close(): void {
    this.closed = true;
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    if (this.purgeTimer !== null) clearTimeout(this.purgeTimer);
  }
}

export const listAdapter: Adapter = {
  name: 'list',
  templates: ['listentry'],
  parseParams: parseListParams,
  createHandler: (params, context) => new ListHandler(params as ListParams, context),
  // Only its in-memory overrides: a lookup in a compiled list, no fetch, no timers (a providerUrl list stays on the
  // pool). A long regex list tries every regex per value: it stays on the pool too.
  inline: (params) => {
    const p = params as ListParams;
    return p.providerUrl === '' && (p.entryType !== 'REGEX' || p.overrides.length <= MAX_INLINE_REGEXES);
  },
};
