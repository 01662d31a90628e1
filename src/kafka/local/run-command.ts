import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr interleaved, last 64 KiB. */
  output: string;
  timedOut: boolean;
}

const KEEP_BYTES = 64 * 1024;

/**
 * Runs a program to completion with a time limit; never throws for a non-zero exit, only for a
 * program that cannot be started at all (the error keeps its `code`, e.g. ENOENT).
 */
export function runCommand(
  program: string,
  args: readonly string[],
  options: { timeoutMs: number; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > KEEP_BYTES) output = output.slice(-KEEP_BYTES);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, timedOut });
    });
  });
}

/** The last non-empty line of some output, trimmed to one readable line. */
export function lastLine(output: string, max = 300): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim())
    .filter((l) => l.length > 0);
  const line = lines.at(-1) ?? '(no output)';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
