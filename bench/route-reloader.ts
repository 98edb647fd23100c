// The reload scenario's driver: while the load runs, rewrites the proxy's
// bootstrap file every intervalMs with a new route (an extra prefix route ahead
// of the catch-all), the way a config manager would: write a temp file, rename
// it over the old one. The proxy watches the file and swaps its route table;
// the load's errors and latency show what a reload costs requests in flight.
import { renameSync, writeFileSync } from 'node:fs';
import { benchBootstrapYaml } from './isthmus-target.js';

export interface RouteReloader {
  start(): void;
  /** Stops rewriting; returns how many rewrites were made since start() and how many the proxy reported applied. */
  stop(): { reloads_written: number; reloads_applied: number };
  /** Feed every proxy output line: counts the agent's 'config vN applied' lines while running. */
  onLine(line: string): void;
}

export function createRouteReloader(file: string, upstreamPort: number, listenPort: number, intervalMs = 500): RouteReloader {
  let generation = 0;
  let written = 0;
  let applied = 0;
  let counting = false;
  let writtenAtStart = 0;
  let appliedAtStart = 0;
  let timer: NodeJS.Timeout | null = null;
  const rewrite = (): void => {
    generation++;
    const temp = `${file}.tmp`;
    writeFileSync(temp, benchBootstrapYaml(upstreamPort, { listenPort, generation }));
    renameSync(temp, file);
    written++;
  };
  return {
    start() {
      counting = true;
      writtenAtStart = written;
      appliedAtStart = applied;
      timer ??= setInterval(rewrite, intervalMs);
    },
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
      // The last rewrite's reload lands within the watcher's debounce; count it if it arrives in time.
      counting = false;
      return { reloads_written: written - writtenAtStart, reloads_applied: applied - appliedAtStart };
    },
    onLine(line) {
      if (counting && /"msg":"config v\d+ applied/.test(line)) applied++;
    },
  };
}
