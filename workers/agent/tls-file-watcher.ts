// Watches the certificate, key and trust-bundle files the active config names
// (DataSource `filename`s), folder by folder as the bootstrap watcher does,
// and asks for a reload when their content changes: the reload re-reads them,
// builds new TLS contexts, and new handshakes get the new certificate while
// open connections keep theirs.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Bootstrap, CommonTls } from '../../src/config/bootstrap-types.js';
import { RELOAD_DEBOUNCE } from '../../src/watch/debouncer.js';
import { KUBERNETES_DATA_LINK, watchFolder, type FolderWatch } from '../../src/watch/folder-watch.js';

function commonPaths(c: CommonTls, out: Set<string>): void {
  for (const cert of c.certificates) {
    if (cert.chainPath !== null) out.add(cert.chainPath);
    if (cert.keyPath !== null) out.add(cert.keyPath);
  }
  if (c.trustedCaPath !== null) out.add(c.trustedCaPath);
}

/** Every TLS file a config reads. */
export function tlsFilePaths(bootstrap: Bootstrap): string[] {
  const out = new Set<string>();
  for (const l of bootstrap.listeners) for (const chain of l.filterChains) if (chain.tls !== null) commonPaths(chain.tls, out);
  for (const c of bootstrap.clusters) if (c.tls !== null) commonPaths(c.tls, out);
  return [...out].sort();
}

async function digestOf(paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const p of paths) {
    hash.update(p).update('\0');
    hash.update(await readFile(p).catch(() => Buffer.from('\0missing'))).update('\0');
  }
  return hash.digest('hex');
}

export class TlsFileWatcher {
  private paths: string[] = [];
  private watches = new Map<string, FolderWatch>();
  private loadedDigest = '';
  private closed = false;

  constructor(
    private readonly onChange: () => void,
    private readonly onError: (err: Error) => void,
  ) {}

  /** The config applied: watch its files; their content now is what was loaded. */
  async update(bootstrap: Bootstrap): Promise<void> {
    if (this.closed) return;
    this.paths = tlsFilePaths(bootstrap);
    this.loadedDigest = await digestOf(this.paths);
    const dirs = new Map<string, Set<string>>();
    for (const p of this.paths) {
      const names = dirs.get(dirname(p)) ?? new Set<string>();
      names.add(basename(p));
      dirs.set(dirname(p), names);
    }
    for (const [dir, w] of this.watches) {
      if (!dirs.has(dir)) {
        w.close();
        this.watches.delete(dir);
      }
    }
    for (const [dir, names] of dirs) {
      this.watches.get(dir)?.close();
      try {
        this.watches.set(dir, watchFolder(dir, {
          timing: RELOAD_DEBOUNCE,
          relevant: (entry) => names.has(entry) || entry === KUBERNETES_DATA_LINK,
          onChange: () => void this.check(),
          onError: this.onError,
        }));
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }

  private async check(): Promise<void> {
    const digest = await digestOf(this.paths);
    if (this.closed || digest === this.loadedDigest) return;
    this.loadedDigest = digest; // a rejected reload is not retried until the files change again
    this.onChange();
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }
}
