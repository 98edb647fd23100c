// Worker threads and child processes need JavaScript files. When this code runs
// from its TypeScript source (vitest), the compiled sibling lives under dist/
// (tsconfig rootDir "."), so resolve it there; from dist it is just a sibling.
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Takes the caller's import.meta.url and a .js file name beside it; returns the absolute path of the runnable file. */
export function compiledSibling(metaUrl: string, fileName: string): string {
  const here = fileURLToPath(metaUrl);
  const dir = dirname(here);
  if (here.endsWith('.js')) return join(dir, fileName);
  const root = packageRoot(dir);
  const compiled = join(root, 'dist', relative(root, dir), fileName);
  if (!existsSync(compiled)) {
    throw new Error(`${compiled} does not exist: run \`npx tsc -p .\` first`);
  }
  return compiled;
}

/** The directory holding package.json above `dir` (the repository root). */
export function packageRoot(dir: string): string {
  let current = dir;
  for (;;) {
    if (existsSync(join(current, 'package.json'))) return current;
    const parent = dirname(current);
    if (parent === current) throw new Error(`no package.json above ${dir}`);
    current = parent;
  }
}
