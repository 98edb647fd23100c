// One whole read of the watched config folder, grouped by file, ready for the
// store to reconcile: each file's clean resources, its problems, and (for a
// file with problems) which keys its documents name, so those keys can be
// marked rejected instead of silently vanishing.

import { readFile } from 'node:fs/promises';
import { formatProblem, type ConfigProblem } from '../../src/config/config-error.js';
import type { IstioResource } from '../config/istio-types.js';
import { readResourceDir } from '../config/parse-resources.js';
import { identifyDocuments, type DocumentIdentity } from './document-identity.js';

export interface DirFile {
  /** Path as readResourceDir names it (`<dir>/<name>`). */
  readonly file: string;
  readonly resources: readonly IstioResource[];
  readonly problems: readonly ConfigProblem[];
  /** Documents of a file with problems (empty for a clean file: its resources say it all). */
  readonly documents: readonly DocumentIdentity[];
  /** Whether every document of a file with problems named its key (true for a clean file). */
  readonly complete: boolean;
}

export interface DirSnapshot {
  readonly dir: string;
  /** Set when the folder itself could not be read (then `files` is empty). */
  readonly folderProblem?: string;
  /** In file name order. */
  readonly files: readonly DirFile[];
}

/** The snapshot of "no folder": every folder-sourced resource goes away (control started without --config-dir). */
export function emptyDirSnapshot(): DirSnapshot {
  return { dir: '', files: [] };
}

/** `file:line: message; file:line: message` */
export function problemsReason(problems: readonly ConfigProblem[]): string {
  return problems.map(formatProblem).join('; ');
}

/** Reads every *.yaml, *.yml and *.json file of dir (as analyze does). Never throws: problems are data. */
export async function readDirSnapshot(dir: string): Promise<DirSnapshot> {
  const result = await readResourceDir(dir);
  const folderProblems = result.problems.filter((p) => p.file === dir);
  if (folderProblems.length > 0 && result.resources.length === 0 && folderProblems.length === result.problems.length) {
    return { dir, folderProblem: problemsReason(folderProblems), files: [] };
  }
  const byFile = new Map<string, { resources: IstioResource[]; problems: ConfigProblem[] }>();
  const entry = (file: string) => {
    let e = byFile.get(file);
    if (e === undefined) byFile.set(file, (e = { resources: [], problems: [] }));
    return e;
  };
  for (const r of result.resources) entry(r.source.file).resources.push(r);
  for (const p of result.problems) entry(p.file).problems.push(p);
  const files: DirFile[] = [];
  for (const file of [...byFile.keys()].sort()) {
    const { resources, problems } = byFile.get(file)!;
    if (problems.length === 0) {
      files.push({ file, resources, problems, documents: [], complete: true });
      continue;
    }
    let text: string | undefined;
    // A problem without a line is about the whole file (unreadable, too large): nothing in it can be named.
    if (problems.some((p) => p.line === null)) {
      files.push({ file, resources, problems, documents: [], complete: false });
      continue;
    }
    try {
      text = await readFile(file, 'utf8');
    } catch {
      // gone or unreadable since the read above: its problems say so, or the next watch event will
    }
    const ids = text === undefined ? { documents: [], complete: false } : identifyDocuments(text);
    files.push({ file, resources, problems, documents: ids.documents, complete: ids.complete });
  }
  return { dir, files };
}
