// Opens, keeps and closes this worker's listeners to match each config: a
// listener whose address is unchanged keeps its socket across a reload.
import type { Listener } from '../src/config/bootstrap-types.js';
import { DataPlaneListener } from './data-plane-listener.js';
import type { WorkerContext } from './worker-context.js';

function addressKey(l: Listener): string {
  return `${l.address.address}|${l.address.port}`;
}

export class ListenerSet {
  private readonly open = new Map<string, { key: string; listener: DataPlaneListener }>();
  private accepting = true;

  constructor(private readonly worker: WorkerContext) {}

  /** Throws (before changing anything already open) when a new listener cannot bind. */
  apply(listeners: readonly Listener[]): void {
    if (!this.accepting) return;
    const opened: [string, { key: string; listener: DataPlaneListener }][] = [];
    try {
      for (const l of listeners) {
        const cur = this.open.get(l.name);
        if (cur !== undefined && cur.key === addressKey(l)) continue;
        opened.push([l.name, { key: addressKey(l), listener: new DataPlaneListener(l, this.worker) }]);
      }
    } catch (err) {
      for (const [, o] of opened) o.listener.close();
      throw err;
    }
    const wanted = new Set(listeners.map((l) => l.name));
    for (const [name, cur] of this.open) {
      if (!wanted.has(name) || opened.some(([n]) => n === name)) {
        cur.listener.close();
        this.open.delete(name);
      }
    }
    for (const [name, o] of opened) this.open.set(name, o);
    for (const l of listeners) this.open.get(l.name)?.listener.update(l);
  }

  /** Stops accepting everywhere (drain_listeners, shutdown); later configs open nothing. */
  closeAll(): void {
    this.accepting = false;
    for (const cur of this.open.values()) cur.listener.close();
    this.open.clear();
  }
}
