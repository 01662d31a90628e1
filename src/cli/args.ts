/**
 * The shared option layer of the `saferoads` commands. A command declares its options once — key
 * (camelCase; the flag is its kebab-case, `--car-topic`, and the environment variable
 * `SAFEROADS_CAR_TOPIC`), a zod schema over the raw string, a default and a help line — and gets a
 * strict parser (node:util parseArgs, flags win over the environment, which wins over defaults) and
 * its `--help` text. Every mistake is a ConfigError naming the flag or variable at fault, e.g.
 * `--shards must be a positive integer (got "x")`, so the CLI exits 2 with one line.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

export interface OptionDef<T> {
  /** Parses the raw text (flag value or environment variable). Unused for boolean flags. */
  schema?: z.ZodType<T, string>;
  help: string;
  default?: T;
  /** Placeholder in the help text, e.g. `N`. */
  valueName?: string;
  /** A switch without a value (`--realtime`); from the environment: 1/true/yes or 0/false/no. */
  boolean?: boolean;
  /** Further environment variables read after SAFEROADS_<NAME>, e.g. KAFKA_BROKERS. */
  envAliases?: readonly string[];
  /** One-letter alias. */
  short?: string;
  /**
   * Read from SAFEROADS_<NAME> only (a secret: ps and shell history show command lines). The flag is
   * refused with `--<name> <envOnly>`, whatever follows it; the value is never quoted in a message.
   */
  envOnly?: string;
}

export interface PositionalDef {
  name: string;
  help: string;
  required?: boolean;
}

export interface CommandDef<O extends Record<string, OptionDef<unknown>>> {
  /** `generate`, `replay`, … */
  name: string;
  summary: string;
  positionals?: readonly PositionalDef[];
  options: O;
  /** Extra paragraphs at the end of --help. */
  notes?: string;
}

export type OptionValues<O extends Record<string, OptionDef<unknown>>> = {
  [K in keyof O]: O[K] extends OptionDef<infer T> ? (O[K] extends { default: unknown } ? T : T | undefined) : never;
};

export interface ParsedCommand<O extends Record<string, OptionDef<unknown>>> {
  values: OptionValues<O>;
  positionals: string[];
  /** `--help` was given: print helpText and exit 0 (values are not parsed then). */
  help: boolean;
  /** Where each value came from. */
  sources: { [K in keyof O]: 'flag' | 'env' | 'default' | 'unset' };
}

/** A typed option (keeps the literal `default` in the type so the value is not optional). */
export function option<T>(def: OptionDef<T> & { default: T }): OptionDef<T> & { default: T };
export function option<T>(def: OptionDef<T>): OptionDef<T>;
export function option<T>(def: OptionDef<T>): OptionDef<T> {
  return def;
}

/** A boolean switch, false unless given. */
export function flag(help: string): OptionDef<boolean> & { default: boolean } {
  return { help, boolean: true, default: false };
}

export function defineCommand<O extends Record<string, OptionDef<unknown>>>(def: CommandDef<O>): CommandDef<O> {
  return def;
}

// ---- schemas over raw text -------------------------------------------------------------------

/** An integer in [min, max]. */
export function integer(min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): z.ZodType<number, string> {
  const what =
    min === 1 && max === Number.MAX_SAFE_INTEGER
      ? 'must be a positive integer'
      : min === 0 && max === Number.MAX_SAFE_INTEGER
        ? 'must be a non-negative integer'
        : max === Number.MAX_SAFE_INTEGER
          ? `must be an integer >= ${min}`
          : `must be an integer from ${min} to ${max}`;
  return z
    .string()
    .trim()
    .regex(/^[+-]?\d+$/, what)
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n) && n >= min && n <= max, what);
}

/** A finite decimal number, > exclusiveMin or >= min when given. */
export function decimal(bounds: { min?: number; exclusiveMin?: number } = {}): z.ZodType<number, string> {
  const what =
    bounds.exclusiveMin === 0
      ? 'must be a positive number'
      : bounds.exclusiveMin !== undefined
        ? `must be a number > ${bounds.exclusiveMin}`
        : bounds.min === 0
          ? 'must be a non-negative number'
          : bounds.min !== undefined
            ? `must be a number >= ${bounds.min}`
            : 'must be a number';
  return z
    .string()
    .trim()
    .regex(/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, what)
    .transform(Number)
    .refine(
      (n) =>
        Number.isFinite(n) &&
        (bounds.min === undefined || n >= bounds.min) &&
        (bounds.exclusiveMin === undefined || n > bounds.exclusiveMin),
      what,
    );
}

/** One of a fixed set of words. */
export function choice<const T extends readonly [string, ...string[]]>(values: T): z.ZodType<T[number], string> {
  const words = values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(', ')}`;
  return z.enum(values as unknown as [T[number], ...T[number][]], { error: `must be ${words}` }) as unknown as z.ZodType<T[number], string>;
}

/** A non-empty string. */
export function text(): z.ZodType<string, string> {
  return z.string().min(1, 'must not be empty');
}

/** A comma-separated option value as its non-empty, trimmed items. */
export function commaList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `--holidays`: a country code (date-holidays), or a list of local dates YYYY-MM-DD,… */
export function holidaysOption(value: string): string | string[] {
  return /^\d{4}-\d{2}-\d{2}/.test(value) ? commaList(value) : value;
}

// ---- names -----------------------------------------------------------------------------------

export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export function envName(key: string): string {
  return `SAFEROADS_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

// ---- parsing ---------------------------------------------------------------------------------

function quoted(raw: string): string {
  return JSON.stringify(raw.length > 60 ? `${raw.slice(0, 57)}...` : raw);
}

function fromParseArgsError(error: unknown, command: string): ConfigError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const named = /'(-[^' ]*)/.exec(message)?.[1] ?? /'([^']*)'/.exec(message)?.[1] ?? 'argument';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    return new ConfigError(named, `is not an option of saferoads ${command} (see saferoads ${command} --help)`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(message)) return new ConfigError(named, 'takes no value');
    if (/ambiguous/.test(message)) return new ConfigError(named, `needs a value (one starting with "-" is written ${named}=-…)`);
    return new ConfigError(named, 'needs a value');
  }
  return new ConfigError(named, message);
}

function parseBooleanEnv(name: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (v === '1' || v === 'true' || v === 'yes') return true;
  if (v === '0' || v === 'false' || v === 'no' || v === '') return false;
  throw new ConfigError(name, `must be true or false (got ${quoted(raw)})`);
}

/**
 * Parses `argv` (the arguments after the command name) and `env` against `def`. Throws ConfigError
 * naming the flag or variable for an unknown flag, a missing value, a value its schema refuses or a
 * wrong number of positionals.
 */
export function parseCommand<O extends Record<string, OptionDef<unknown>>>(
  def: CommandDef<O>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedCommand<O> {
  const parseOptions: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [key, o] of Object.entries(def.options)) {
    if (o.envOnly !== undefined) {
      // Refused before parsing, so that neither a value nor a missing one reaches a message.
      const flagText = flagName(key);
      if (argv.some((a) => a === flagText || a.startsWith(`${flagText}=`))) throw new ConfigError(flagText, o.envOnly);
      continue;
    }
    parseOptions[flagName(key).slice(2)] = { type: o.boolean ? 'boolean' : 'string', ...(o.short ? { short: o.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: parseOptions, strict: true, allowPositionals: true });
  } catch (error) {
    throw fromParseArgsError(error, def.name);
  }
  const raw = parsed.values as Record<string, string | boolean | undefined>;
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  if (raw.help === true) return { values: values as OptionValues<O>, positionals: parsed.positionals, help: true, sources: sources as never };

  for (const [key, o] of Object.entries(def.options)) {
    const flagText = flagName(key);
    let source: string | undefined;
    let given: string | boolean | undefined = o.envOnly === undefined ? raw[flagText.slice(2)] : undefined;
    if (given !== undefined) source = flagText;
    else {
      for (const name of [envName(key), ...(o.envAliases ?? [])]) {
        const v = env[name];
        if (v !== undefined && v !== '') {
          source = name;
          given = v;
          break;
        }
      }
    }
    if (source === undefined) {
      values[key] = o.default;
      sources[key] = o.default === undefined ? 'unset' : 'default';
      continue;
    }
    sources[key] = source === flagText ? 'flag' : 'env';
    if (o.boolean) {
      values[key] = typeof given === 'boolean' ? given : parseBooleanEnv(source, given as string);
      continue;
    }
    const result = (o.schema ?? text()).safeParse(given);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new ConfigError(source, `${issue?.message ?? 'is not valid'}${o.envOnly === undefined ? ` (got ${quoted(String(given))})` : ''}`);
    }
    values[key] = result.data;
  }

  const positionalDefs = def.positionals ?? [];
  if (parsed.positionals.length > positionalDefs.length) {
    const extra = parsed.positionals[positionalDefs.length]!;
    throw new ConfigError(quoted(extra), `is not an argument of saferoads ${def.name} (see saferoads ${def.name} --help)`);
  }
  positionalDefs.forEach((p, i) => {
    if (p.required && parsed.positionals[i] === undefined) throw new ConfigError(p.name, 'is required (see --help)');
  });
  return { values: values as OptionValues<O>, positionals: parsed.positionals, help: false, sources: sources as never };
}

/** The `--help` text of a command. */
export function helpText<O extends Record<string, OptionDef<unknown>>>(def: CommandDef<O>): string {
  const positionals = (def.positionals ?? []).map((p) => (p.required ? p.name : `[${p.name}]`)).join(' ');
  const lines = [`Usage: saferoads ${def.name}${positionals ? ` ${positionals}` : ''} [options]`, '', def.summary, ''];
  const rows: Array<[string, string]> = [];
  for (const p of def.positionals ?? []) rows.push([p.name, p.help]);
  for (const [key, o] of Object.entries(def.options)) {
    if (o.envOnly !== undefined) {
      rows.push([`${envName(key)}=${o.valueName ?? 'VALUE'}`, `${o.help} (environment only)`]);
      continue;
    }
    const left = `${o.short ? `-${o.short}, ` : ''}${flagName(key)}${o.boolean ? '' : ` ${o.valueName ?? 'VALUE'}`}`;
    const extras: string[] = [];
    if (o.default !== undefined && o.default !== false) extras.push(`default ${String(o.default)}`);
    extras.push(`env ${[envName(key), ...(o.envAliases ?? [])].join(' or ')}`);
    rows.push([left, `${o.help} (${extras.join('; ')})`]);
  }
  rows.push(['-h, --help', 'show this help']);
  const width = Math.min(28, Math.max(...rows.map(([l]) => l.length)) + 2);
  lines.push('Arguments and options:');
  for (const [left, right] of rows) {
    lines.push(left.length + 2 > width ? `  ${left}\n  ${' '.repeat(width)}${right}` : `  ${left.padEnd(width)}${right}`);
  }
  if (def.notes) lines.push('', def.notes);
  return `${lines.join('\n')}\n`;
}

/** `host:port[,host:port…]` → the list (same rule as KAFKA_BROKERS, src/kafka/cluster.ts). */
export function brokerList(): z.ZodType<string[], string> {
  const what = 'must be host:port[,host:port…]';
  return z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b.length > 0),
    )
    .refine(
      (list) =>
        list.length > 0 &&
        list.every((b) => {
          const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(b);
          return m !== null && Number(m[2]) >= 1 && Number(m[2]) <= 65535;
        }),
      what,
    );
}
