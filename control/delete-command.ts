// `isthmus delete -f FILE`: the delete half of apply-command.ts (the command
// table maps each command name to a module with its own run()).
import { runApiCommand } from './apply-command.js';

/** Entry point of `isthmus delete` from src/cli/main.ts. */
export function run(argv: string[]): Promise<number> {
  return runApiCommand('delete', argv);
}
