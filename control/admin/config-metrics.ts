// The config store's metrics in the Prometheus text format 0.0.4, for the
// control admin /metrics: resources by kind and status, folder reads,
// applies and deletes, the current revision. Declared as a table, rendered
// on scrape (a scrape is rare; nothing here is on a request path).

import { escapeLabelValue } from '../../src/stats/prometheus-text.js';
import type { ConfigStore } from '../store/config-store.js';
import { ISTIO_KINDS } from '../config/istio-types.js';

interface Sample {
  readonly labels: readonly (readonly [string, string])[];
  readonly value: number;
}

interface Metric {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
  readonly samples: (store: ConfigStore) => readonly Sample[];
}

const one = (value: number): Sample[] => [{ labels: [], value }];

const METRICS: readonly Metric[] = [
  {
    name: 'isthmus_control_config_resources',
    type: 'gauge',
    help: 'Stored config resources by kind and status (rejected: the latest definition was refused).',
    samples: (store) => {
      const counts = new Map<string, number>();
      for (const kind of ISTIO_KINDS) for (const status of ['accepted', 'rejected']) counts.set(`${kind}\0${status}`, 0);
      for (const s of store.statuses()) counts.set(`${s.kind}\0${s.status}`, (counts.get(`${s.kind}\0${s.status}`) ?? 0) + 1);
      return [...counts].map(([k, value]) => {
        const [kind = '', status = ''] = k.split('\0');
        return { labels: [['kind', kind], ['status', status]], value };
      });
    },
  },
  {
    name: 'isthmus_control_config_rejected_resources',
    type: 'gauge',
    help: 'Resources whose latest definition was rejected, plus files whose problems name no resource.',
    samples: (store) => one(store.statuses().filter((s) => s.status === 'rejected').length + store.fileProblems().length),
  },
  {
    name: 'isthmus_control_config_served_resources',
    type: 'gauge',
    help: 'Resources the mesh is configured from (accepted, or the last accepted version of a rejected one).',
    samples: (store) => one(store.resources().length),
  },
  {
    name: 'isthmus_control_config_warning_resources',
    type: 'gauge',
    help: 'Resources with analyze findings (reported, never rejected).',
    samples: (store) => one(store.statuses().filter((s) => s.warnings.length > 0).length),
  },
  {
    name: 'isthmus_control_config_reloads_total',
    type: 'counter',
    help: 'Whole reads of the watched config folder.',
    samples: (store) => one(store.counters.dirSyncs),
  },
  {
    name: 'isthmus_control_config_api_requests_total',
    type: 'counter',
    help: 'Apply and delete requests by operation and result.',
    samples: (store) => {
      const c = store.counters;
      return [
        { labels: [['operation', 'apply'], ['result', 'accepted']], value: c.applies - c.appliesRejected },
        { labels: [['operation', 'apply'], ['result', 'rejected']], value: c.appliesRejected },
        { labels: [['operation', 'delete'], ['result', 'accepted']], value: c.deletes - c.deletesRejected },
        { labels: [['operation', 'delete'], ['result', 'rejected']], value: c.deletesRejected },
      ];
    },
  },
  {
    name: 'isthmus_control_config_revision',
    type: 'gauge',
    help: 'Revision of the served config (bumped by every change of the served set).',
    samples: (store) => one(store.revision()),
  },
];

/** Takes the store; returns the exposition text of its metrics. */
export function renderConfigMetrics(store: ConfigStore): string {
  let out = '';
  for (const m of METRICS) {
    out += `# HELP ${m.name} ${m.help}\n# TYPE ${m.name} ${m.type}\n`;
    for (const s of m.samples(store)) {
      const labels = s.labels.length === 0 ? '' : `{${s.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
      out += `${m.name}${labels} ${s.value}\n`;
    }
  }
  return out;
}
