// The standard process_* figures of Prometheus client libraries, for the
// control plane's /metrics: its own CPU and memory (what the dashboard's
// metric pulls and the xDS pushes cost), read on scrape.

const family = (name: string, type: string, help: string): string => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
const START_SECONDS = Math.floor((Date.now() - performance.now()) / 1000);

/** Takes nothing; returns the process_* block. */
export function renderProcessMetrics(): string {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return family('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds.')
    + `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}\n`
    + family('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.')
    + `process_resident_memory_bytes ${mem.rss}\n`
    + family('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds.')
    + `process_start_time_seconds ${START_SECONDS}\n`
    + family('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use, in bytes.')
    + `nodejs_heap_size_used_bytes ${mem.heapUsed}\n`;
}
