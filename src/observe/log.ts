/**
 * saferoads's logs: structured records (pino) on stderr. JSON lines (one object per line: `level`,
 * `time`, `msg`, `component` and the record's fields) when stderr is not a terminal, for a log
 * collector; a short readable line on a terminal. Levels: fatal, error, warn, info, debug.
 */
import { pino } from 'pino';
import type { KafkaLogRecord, LogLevel } from '../kafka/client.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevelName = 'info';

/** The part of a logger saferoads uses (a pino Logger is one). */
export interface StructuredLogger {
  fatal(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  debug(fields: object, msg: string): void;
  child(bindings: Record<string, unknown>): StructuredLogger;
  /** The lowest level written (records below it are dropped before they are formatted). */
  readonly level: string;
}

export interface LoggerOptions {
  level?: LogLevelName;
  /** Readable lines instead of JSON; default: whether `stream` is a terminal. */
  pretty?: boolean;
  /** Default process.stderr. */
  stream?: { write(chunk: string): unknown; isTTY?: boolean };
  /** Fields on every record (e.g. the command). */
  base?: Record<string, unknown>;
}

/** pino's numeric levels → names. */
const LEVEL_NAMES: Readonly<Record<number, string>> = { 60: 'fatal', 50: 'error', 40: 'warn', 30: 'info', 20: 'debug', 10: 'trace' };

const COLOURS: Readonly<Record<string, string>> = { fatal: '\x1b[41m', error: '\x1b[31m', warn: '\x1b[33m', info: '\x1b[32m', debug: '\x1b[90m' };

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/**
 * One record (pino's JSON) as a readable line: `HH:MM:SS.mmm LEVEL msg`, or for a library's record
 * `HH:MM:SS.mmm LEVEL [component namespace] msg key=value…`; an error's stack below it.
 */
export function prettyLine(json: string, colour = false): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const { level, time, msg, component, namespace, pid: _pid, hostname: _hostname, err, ...fields } = record;
  const name = typeof level === 'number' ? (LEVEL_NAMES[level] ?? String(level)) : String(level);
  const t = typeof time === 'number' ? new Date(time) : new Date();
  const clock = `${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}:${String(t.getSeconds()).padStart(2, '0')}.${String(t.getMilliseconds()).padStart(3, '0')}`;
  const label = name.toUpperCase().padEnd(5);
  const where = component === undefined ? '' : `[${String(component)}${namespace === undefined ? '' : ` ${String(namespace)}`}] `;
  // saferoads's own messages say everything their fields do; a library's (component) need them.
  const rest =
    component === undefined
      ? ''
      : Object.entries(fields)
          .map(([k, v]) => `${k}=${formatValue(v)}`)
          .join(' ');
  const stack = err && typeof err === 'object' && 'stack' in err && name !== 'info' ? `\n    ${String((err as { stack: unknown }).stack).split('\n').join('\n    ')}` : '';
  const errText = err && typeof err === 'object' && 'message' in err ? ` err=${formatValue((err as { message: unknown }).message)}` : '';
  const head = colour ? `\x1b[2m${clock}\x1b[0m ${COLOURS[name] ?? ''}${label}\x1b[0m` : `${clock} ${label}`;
  return `${head} ${where}${String(msg ?? '')}${rest ? ` ${rest}` : ''}${errText}${stack}\n`;
}

/** A logger writing to stderr (or `stream`): JSON lines, or readable lines on a terminal. */
export function createLogger(options: LoggerOptions = {}): StructuredLogger {
  const stream = options.stream ?? process.stderr;
  const pretty = options.pretty ?? stream.isTTY === true;
  const colour = pretty && stream === process.stderr && process.stderr.isTTY === true && process.env.NO_COLOR === undefined;
  const destination = pretty ? { write: (line: string) => stream.write(prettyLine(line, colour)) } : { write: (line: string) => stream.write(line) };
  return pino(
    {
      level: options.level ?? DEFAULT_LOG_LEVEL,
      // No pid or hostname: a collector adds its own; keep the lines short.
      base: options.base ?? null,
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  ) as unknown as StructuredLogger;
}

/** A plain-text `log(line)` (the service's original log option) onto a logger, at info. */
export function lineLog(logger: StructuredLogger): (line: string) => void {
  return (line) => logger.info({}, line.replace(LINE_PREFIX, ''));
}

/**
 * Where the log option of a library layer goes: a plain `log(line)` function (as before), or a
 * logger, which gets structured records.
 */
export type LogTarget = ((line: string) => void) | StructuredLogger;

export type Emit = (level: 'error' | 'warn' | 'info' | 'debug', line: string, fields?: object) => void;

/** "saferoads: ", "saferoads run: ": the prefix of a plain line, which a structured record has as its component. */
const LINE_PREFIX = /^saferoads(?: [a-z-]+)?: /;

/**
 * A levelled log over a LogTarget. A plain function gets `line` as it is (debug records are not
 * given to it); a logger gets a record at `level` whose msg is the line without its "saferoads: "
 * prefix, with `fields`.
 */
export function emitter(target: LogTarget): Emit {
  if (typeof target === 'function') {
    return (level, line) => {
      if (level !== 'debug') target(line);
    };
  }
  return (level, line, fields = {}) => target[level](fields, line.replace(LINE_PREFIX, ''));
}

/** How a Kafka client logs (KafkaClientOptions.logLevel and .logger), and its switch to quiet. */
export interface KafkaLogging {
  logLevel: LogLevel;
  logger: (record: KafkaLogRecord) => void;
  /**
   * From now on the client's errors and warnings are expected (a stop began: consumers and
   * producers still connecting fail once the broker is gone): logged at debug only.
   */
  quiet(): void;
}

const KAFKA_LEVEL_OF: Readonly<Record<string, LogLevel>> = { fatal: 'nothing', error: 'error', warn: 'warn', info: 'info', debug: 'debug', trace: 'debug' };

/**
 * The Kafka client's records on `target`: a logger gets them with `component: 'kafkajs'` and their
 * `namespace` at their own level (info as debug: saferoads logs the group assignment itself); a
 * plain function's default is kept: errors only, one `[kafkajs Namespace] …` line each on stderr.
 */
export function kafkaLogging(target: LogTarget): KafkaLogging {
  let quiet = false;
  if (typeof target === 'function') {
    return {
      logLevel: 'error',
      logger: ({ namespace, message, fields }) => {
        if (!quiet) process.stderr.write(`[kafkajs ${namespace}] ${message}${fields.error ? `: ${String(fields.error)}` : ''}\n`);
      },
      quiet: () => (quiet = true),
    };
  }
  return {
    logLevel: KAFKA_LEVEL_OF[target.level] ?? 'error',
    logger: ({ level, namespace, message, fields }) => {
      const at = level === 'info' || (quiet && (level === 'error' || level === 'warn')) ? 'debug' : level;
      target[at]({ component: 'kafkajs', namespace, ...fields }, message);
    },
    quiet: () => (quiet = true),
  };
}
