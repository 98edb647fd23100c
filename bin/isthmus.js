#!/usr/bin/env node
// The CLI lives in TypeScript; this file only loads its compiled form.
import '../dist/src/cli/main.js';
