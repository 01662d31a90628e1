import { exitCodeFor, SaferoadsError } from '../errors.js';

/**
 * Ends a command that failed: one line naming the cause and the fix (exit 2 for configuration,
 * 1 otherwise). Unexpected errors keep their stack, since they are bugs to report.
 */
export function failAndExit(error: unknown, command: string): never {
  if (error instanceof SaferoadsError) {
    process.stderr.write(`saferoads ${command}: ${error.message}\n`);
  } else {
    process.stderr.write(`saferoads ${command}: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
  process.exit(exitCodeFor(error));
}
