// One error type for every configuration problem, carrying all problems found
// in one pass so an operator fixes a file in one edit, not one per run.

export interface ConfigProblem {
  /** The file name as given to the parser (for messages). */
  readonly file: string;
  /** 1-based line, or null when the problem has no place in the file (e.g. a read error). */
  readonly line: number | null;
  /** Dotted field path, e.g. `static_resources.clusters[2].dns_lookup_family`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** `bootstrap.yaml:12: static_resources.clusters[2].dns_lookup_family is not supported` */
export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line === null ? problem.file : `${problem.file}:${problem.line}`;
  return `${where}: ${problem.message}`;
}

export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
    super(`invalid configuration (${count}):\n${problems.map(formatProblem).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = Object.freeze(problems.slice());
  }
}
