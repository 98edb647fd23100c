// The one line an operator reads when a config version is applied ("config
// v7 applied: 2 listeners, 5 clusters (+1), 12 routes, 9 endpoints") and the
// lines when one is rejected (each problem on its own line), so a reload is
// neither silent nor one very long line.
import type { Bootstrap } from '../../src/config/bootstrap-types.js';

export interface ConfigCounts {
  readonly listeners: number;
  readonly clusters: number;
  readonly routes: number;
  readonly endpoints: number;
}

export function configCounts(bootstrap: Bootstrap): ConfigCounts {
  let routes = 0;
  for (const l of bootstrap.listeners) for (const vh of l.routeConfig.virtualHosts) routes += vh.routes.length;
  let endpoints = 0;
  for (const c of bootstrap.clusters) endpoints += c.endpoints.length;
  return { listeners: bootstrap.listeners.length, clusters: bootstrap.clusters.length, routes, endpoints };
}

function counted(n: number, before: number | undefined, one: string, many: string): string {
  const text = `${n} ${n === 1 ? one : many}`;
  if (before === undefined || before === n) return text;
  return `${text} (${n > before ? '+' : ''}${n - before})`;
}

/** "config v7 applied: 2 listeners, 5 clusters (+1), 12 routes, 9 endpoints" (changes against the previous version in brackets). */
export function appliedText(version: number, now: ConfigCounts, before: ConfigCounts | undefined): string {
  return `config v${version} applied: ${[
    counted(now.listeners, before?.listeners, 'listener', 'listeners'),
    counted(now.clusters, before?.clusters, 'cluster', 'clusters'),
    counted(now.routes, before?.routes, 'route', 'routes'),
    counted(now.endpoints, before?.endpoints, 'endpoint', 'endpoints'),
  ].join(', ')}`;
}

/** "config rejected (file changed), keeping v3: 2 problems" then each problem on its own indented line. */
export function rejectedText(reason: string, activeVersion: number, problems: readonly string[]): string {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  const keeping = activeVersion === 0 ? 'no version active' : `keeping v${activeVersion}`;
  return [`config rejected (${reason}), ${keeping}: ${count}`, ...problems.map((p) => `  ${p}`)].join('\n');
}
