/** The --log-level option of the long-running commands, and their logger. */
import { createLogger, DEFAULT_LOG_LEVEL, LOG_LEVELS, type StructuredLogger } from '../observe/log.js';
import { choice, option } from './args.js';

export const LOG_OPTIONS = {
  logLevel: option({
    schema: choice(LOG_LEVELS),
    default: DEFAULT_LOG_LEVEL,
    valueName: LOG_LEVELS.join('|'),
    help: 'least severe log records written to stderr (JSON lines, or readable lines on a terminal)',
  }),
};

/** The command's logger on stderr: readable lines on a terminal, JSON lines otherwise. */
export function cliLogger(level: (typeof LOG_LEVELS)[number]): StructuredLogger {
  return createLogger({ level });
}
