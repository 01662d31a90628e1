import { spawn } from 'node:child_process';

/**
 * Runs a measurement in its own process (Node, unless `executable` names another program: a clean
 * heap, its own RSS) and returns what it printed on its `RESULT <json>` line. A non-zero exit or a missing result line rejects with
 * `what` and the child's output, so a failed measurement never becomes a figure.
 */
export function runResultChild<T>(args: readonly string[], what: string, executable = process.execPath): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) reject(new Error(`${what} failed (exit ${code}):\n${err.trim() || out.trim()}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)) as T);
    });
  });
}
