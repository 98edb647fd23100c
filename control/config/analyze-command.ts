// `isthmus analyze DIR...`: parse every resource in the folders (or files)
// given, check them against each other, print each problem as
// `file:line: message`, and exit 1 when any is an error. Starts nothing.

import { readFile, stat } from 'node:fs/promises';
import type { ConfigProblem } from '../../src/config/config-error.js';
import { OptionsError, helpText, parseCommandOptions, type CommandSpec } from '../../src/cli/options.js';
import { analyzeResources, formatAnalysisProblem, fromConfigProblem, sortAnalysisProblems } from './analyze.js';
import type { IstioResource } from './istio-types.js';
import { readResourceDir, readResources, type ResourceReadResult } from './parse-resources.js';

export const ANALYZE_COMMAND: CommandSpec = {
  name: 'analyze',
  summary: 'check a folder of Istio-shaped config (unknown fields, undefined hosts and subsets, conflicts)',
  usage: 'DIR|FILE [DIR|FILE...]',
  options: [],
  positionals: true,
};

/** A folder (all its *.yaml/*.yml/*.json) or a single file. */
async function readTarget(target: string): Promise<ResourceReadResult> {
  let isFile = false;
  try {
    isFile = (await stat(target)).isFile();
  } catch {
    // readResourceDir reports the missing path with its error code
  }
  if (!isFile) return readResourceDir(target);
  try {
    return readResources(await readFile(target, 'utf8'), target);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { resources: [], problems: [{ file: target, line: null, path: '', message: `cannot read the file: ${e.code ?? e.message}` }] };
  }
}

/** Entry point from src/cli/main.ts; resolves to the exit code (0 clean or warnings only, 1 errors). */
export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandOptions(ANALYZE_COMMAND, argv);
  if (parsed.help) {
    process.stdout.write(helpText(ANALYZE_COMMAND));
    return 0;
  }
  if (parsed.positionals.length === 0) throw new OptionsError('needs a folder or file to analyze: isthmus analyze DIR');
  const resources: IstioResource[] = [];
  const parseProblems: ConfigProblem[] = [];
  for (const target of parsed.positionals) {
    const result = await readTarget(target);
    resources.push(...result.resources);
    parseProblems.push(...result.problems);
  }
  const problems = sortAnalysisProblems([...parseProblems.map(fromConfigProblem), ...analyzeResources(resources)]);
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  const lines = problems.map(formatAnalysisProblem);
  const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
  lines.push(problems.length === 0
    ? `no problems in ${count(resources.length, 'resource')}`
    : `${count(errors, 'error')}, ${count(warnings, 'warning')} (${count(resources.length, 'valid resource')})`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return errors > 0 ? 1 : 0;
}
