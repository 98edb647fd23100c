#!/usr/bin/env -S node --max-semi-space-size=1
// The CLI lives in TypeScript; this file only loads its compiled form and runs it.
// --max-semi-space-size=1 (MB): a proxy's garbage is almost all per-request and short-lived, so a small
// young generation costs no measurable CPU, while V8's default lets it grow to 32 MB under load; worker
// threads get the same through resourceLimits. `node bin/isthmus.js` skips this line: pass the flag
// yourself (or NODE_OPTIONS=--max-semi-space-size=1) for the same memory figures.
import { runFromProcess } from '../dist/src/cli/main.js';

runFromProcess();
