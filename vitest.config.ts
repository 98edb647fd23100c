// How `npm test` spreads the test files over worker processes.
//
// Vitest's default is availableParallelism() - 1 workers: 1 on a 2-core CI
// runner, so the files ran one after another although most of their time is
// spent waiting on the processes they start (proxies, control planes, certificate
// rotations). Two files at a time roughly halves the wall time there; tests bind
// port 0 (or free ports they pick), so files do not collide.
//
// The files that assert a duration, a latency or a CPU cost within a couple of
// seconds (a fault's delay within 200 ms, a Check past a blocked adapter within
// 1 s, a reload within 2.5 s, a mirror's median cost, the bench rows' CPU per
// request) or rotate certificates on lifetimes of seconds run in a second
// group afterwards, one at a time, as they always did: a neighbour's load must
// not make them flaky.
import { defineConfig } from 'vitest/config';

/** Files that run alone after the rest (each asserts time or cost, see above). */
const SERIAL = [
  'test/bench/bench-smoke.test.ts',
  'test/bench/check-client-cpu.test.ts',
  'test/bench/h1-gc-count.test.ts',
  'test/bench/h2-bench.test.ts',
  'test/bench/mesh-alloc.test.ts',
  'test/bench/mesh-pingpong.test.ts',
  'test/e2e/idle-wakeups.test.ts',
  'test/bench/mixer-open-loop.test.ts',
  'test/bench/native-closed-loop.test.ts',
  'test/bench/tls-scenario.test.ts',
  'test/bench/tracing-spans.test.ts',
  'test/control/e2e/mixer.test.ts',
  'test/control/mixer/adapters/list.test.ts',
  'test/control/mixer/rule-dispatch.test.ts',
  'test/control/store/config-dir-watcher.test.ts',
  'test/e2e/fault-injection.test.ts',
  'test/e2e/grpc-two-sidecars.test.ts',
  'test/e2e/grpc.test.ts',
  'test/e2e/h2-upstream-multiplexing.test.ts',
  'test/e2e/http2-stall.test.ts',
  'test/e2e/listener-filters-timeout.test.ts',
  'test/e2e/mixer-filter.test.ts',
  'test/e2e/native-transport.test.ts',
  'test/e2e/pipelined-backpressure.test.ts',
  'test/e2e/policy-mesh-regex.test.ts',
  'test/e2e/reload-busy-folder.test.ts',
  'test/e2e/request-mirror.test.ts',
  'test/e2e/root-rotation.test.ts',
  'test/e2e/sds-over-ads.test.ts',
  'test/e2e/h2-downstream-memory.test.ts',
  'test/e2e/h2-upstream-memory.test.ts',
  'test/e2e/tiny-chunks.test.ts',
  'test/e2e/upstream-failures.test.ts',
  'test/e2e/up-signal.test.ts',
  'test/e2e/workload-identity.test.ts',
  'test/workers/agent/health-checker.test.ts',
  'test/workers/agent/policy-unary-client.test.ts',
];

/** Files at a time in the first group; ISTHMUS_TEST_WORKERS overrides (1 runs everything one file at a time). */
const PARALLEL_FILES = Math.max(1, Math.floor(Number(process.env.ISTHMUS_TEST_WORKERS ?? '2')) || 2);

export default defineConfig({
  test: {
    // Vitest's defaults (5 s a test, 10 s a hook) are for unit tests; many e2e tests here start a control plane or a
    // proxy without a timeout of their own and take 2-4 s alone, 5-15 s on a loaded 2-core machine. A test that must be
    // fast asserts its duration itself (and those run in the serial group).
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: { name: 'parallel', exclude: ['**/node_modules/**', '**/.git/**', ...SERIAL], maxWorkers: PARALLEL_FILES, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'serial', include: SERIAL, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
