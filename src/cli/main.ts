#!/usr/bin/env node
/**
 * The `saferoads` command: dispatches to its subcommands. Exit status 0 ok, 1 runtime failure,
 * 2 bad configuration (failAndExit maps ConfigError to 2).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { failAndExit } from './fail.js';

type CommandRunner = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandRunner | 'self-running'> }> = {
  run: {
    summary: 'run the streaming service: car + weather → road-risk',
    load: async () => (await import('./run.js')).runCommand,
  },
  demo: {
    summary: 'broker + generator + service together, printing live scores (npm start)',
    load: async () => (await import('./demo.js')).demoCommand,
  },
  generate: {
    summary: 'generate seeded traffic and weather to Kafka or files',
    load: async () => (await import('./generate.js')).generateCommand,
  },
  replay: {
    summary: 'produce an NDJSON file to a Kafka topic',
    load: async () => (await import('./replay.js')).replayCommand,
  },
  train: {
    summary: 'fit a risk model on labelled history (time-blocked cross-validation, baselines)',
    load: async () => (await import('./train.js')).trainCommand,
  },
  backtest: {
    summary: 'score labelled history with model files, metrics side by side',
    load: async () => (await import('./backtest.js')).backtestCommand,
  },
  kafka: {
    summary: 'start a local Kafka broker in the foreground (Ctrl-C stops it)',
    load: async () => {
      // kafka.js is a script: importing it starts the broker and it handles its own exit.
      await import('./kafka.js');
      return 'self-running';
    },
  },
};

function version(): string {
  return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'Usage: saferoads <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`),
    '',
    'Options: --help (also after a command: saferoads generate --help), --version',
    'Exit status: 0 ok, 1 runtime failure, 2 bad configuration.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    process.exit(0);
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`saferoads ${version()}\n`);
    process.exit(0);
  }
  if (name === undefined) {
    process.stderr.write(`${usage()}saferoads: a command is missing: give one of ${Object.keys(COMMANDS).join(', ')}\n`);
    process.exit(2);
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    failAndExit(new ConfigError(JSON.stringify(name), `is not a command: use one of ${Object.keys(COMMANDS).join(', ')} (saferoads --help)`), name);
  }
  try {
    const runner = await command.load();
    if (runner === 'self-running') return;
    const status = await runner(rest);
    process.exit(status);
  } catch (error) {
    failAndExit(error, name);
  }
}

void main(process.argv.slice(2));
