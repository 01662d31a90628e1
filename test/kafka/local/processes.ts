import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../../src/paths.js';

/** Pids of Kafka broker JVMs on this machine (whose command line contains `argsContaining`, if given). */
export function kafkaBrokerPids(argsContaining?: string): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((line) => /\bkafka\.Kafka\b/.test(line) && (argsContaining === undefined || line.includes(argsContaining)))
    .map((line) => Number(line.trim().split(/\s+/, 1)[0]));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}

/** Built JavaScript of a source module (worker threads and child processes run built code). */
export function built(relative: string): string {
  const path = join(PACKAGE_ROOT, 'dist', relative);
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build first (npm test does)`);
  return path;
}
