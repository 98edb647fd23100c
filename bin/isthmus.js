#!/usr/bin/env node
// The CLI lives in TypeScript; this file only loads its compiled form and runs it.
import { runFromProcess } from '../dist/src/cli/main.js';

runFromProcess();
