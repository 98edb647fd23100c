#!/usr/bin/env -S node --max-semi-space-size=1 --no-sparkplug --optimize-for-size --expose-gc
// The CLI lives in TypeScript; this file only loads its compiled form and runs it.
// The `#!` flags trade nothing measurable in CPU per request for a smaller sidecar (V8 flags are per
// process: worker threads get them too; measured with `isthmus bench proxy`, 50 connections):
// --max-semi-space-size=1 (MB): a proxy's garbage is almost all per-request and short-lived, so a small
//   young generation costs no measurable CPU, while V8's default lets it grow to 32 MB under load (with
//   --optimize-for-size V8 keeps it at 1 MB anyway: the flag states the choice; docs/performance.md has what
//   larger semi-spaces would cost and save);
// --no-sparkplug: no baseline-compiled copy of warm functions (hot ones are optimized by TurboFan anyway);
// --optimize-for-size: V8's smaller heap growth steps and code;
// the last two: peak RSS -2 MB with 1 worker, -7 MB with 2;
// --expose-gc: `isthmus proxy` runs one full GC per isolate when its startup ends (src/process/startup-garbage.ts). `node bin/isthmus.js` skips this line: pass
// the flags yourself (or NODE_OPTIONS) for the same memory figures; `isthmusCommand` (src/process) does.
// `isthmus proxy`: cap glibc's malloc arenas first, before any thread has taken an arena of its own
// (src/process/malloc-arenas.ts), and start releasing the binary's startup pages before the CLI's module graph
// loads (src/process/startup-pages.ts: the peak is inside startup; proxy-command.ts stops it with `keep`).
if (process.argv[2] === 'proxy') (await import('../dist/src/process/proxy-boot.js')).prepareProxyProcess(process.argv.slice(3));
// `isthmus control`: not the sidecar's memory flags (src/process/control-boot.ts).
if (process.argv[2] === 'control') (await import('../dist/src/process/control-boot.js')).prepareControlProcess();
const { runFromProcess } = await import('../dist/src/cli/main.js');

runFromProcess();
