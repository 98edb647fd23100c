// What `isthmus up` prints once the mesh answers: the two URLs and what to
// try. Tests and bench/demo-at-rest.ts read the "App:" and "Dashboard:" lines.
import { join } from 'node:path';

export interface UpSummary {
  readonly appUrl: string;
  readonly dashboardUrl: string;
  readonly controlUrl: string;
  readonly configDir: string;
  readonly processes: number;
  readonly startSeconds: number;
  /** Requests per second of demo traffic, or null with --no-traffic. */
  readonly rate: number | null;
}

export function instructions(s: UpSummary): string {
  const split = join(s.configDir, 'reviews-split.yaml');
  const traffic = s.rate === null
    ? 'No demo traffic (--no-traffic): reload the page, or run the curl loop above.'
    : `Demo traffic: ${s.rate} requests a second to productpage, 1 in 5 as end-user jason (--no-traffic: none).`;
  return `
Isthmus Bookinfo demo is up: ${s.processes} processes (a control plane; productpage, details,
reviews v1/v2/v3 and ratings, each with its own sidecar, mTLS between them), in ${s.startSeconds.toFixed(1)} s.

  App:        ${s.appUrl}
  Dashboard:  ${s.dashboardUrl}

Try this:
  1. Open the app and reload it: reviews come from v1 (no stars), v2 (black) or v3 (red), split 50/25/25.
  2. Edit the split in ${split}
     (say, v3 weight 100, the others 0) and save: within seconds every answer shows red stars.
       for i in $(seq 10); do curl -s ${s.appUrl} | grep -o 'reviews-v[0-9]'; done | sort | uniq -c
  3. Be jason, who gets a fault from ratings (ratings-fault.yaml): the stars give way to an error.
       curl -s -H 'end-user: jason' ${s.appUrl} | grep -i unavailable
     (or open ${s.appUrl}?user=jason)
  4. Open the dashboard: the service graph, the split, mTLS, each sidecar's sync state.
       isthmus proxy-status --control ${s.controlUrl}
       curl -s ${s.controlUrl}/metrics
${traffic}
Ctrl-C stops everything.
`;
}
