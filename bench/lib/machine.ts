import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';
import { PACKAGE_ROOT } from '../../src/paths.js';

export interface MachineInfo {
  cpuModel: string;
  /** Logical CPUs (os.cpus().length). */
  cores: number;
  /** os.availableParallelism(): what the shard count goes up to. */
  availableParallelism: number;
  memoryBytes: number;
  freeMemoryBytes: number;
  /** 1-minute load average when the bench started (a busy machine gives lower figures). */
  loadAverage1m: number;
  node: string;
  v8: string;
  platform: string;
  commit: string;
  shortCommit: string;
  /** Uncommitted changes in the working tree (figures then belong to no commit exactly). */
  dirty: boolean;
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  const commit = git(['rev-parse', 'HEAD']) ?? 'unknown';
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    availableParallelism: availableParallelism(),
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    loadAverage1m: loadavg()[0],
    node: process.version,
    v8: process.versions.v8,
    platform: `${platform()} ${release()} ${process.arch}`,
    commit,
    shortCommit: commit === 'unknown' ? 'nocommit' : commit.slice(0, 7),
    dirty: status !== undefined && status.length > 0,
  };
}

/** One line for the report header. */
export function machineLine(m: MachineInfo): string {
  const gib = (m.memoryBytes / 2 ** 30).toFixed(1);
  return (
    `${m.cpuModel}, ${m.cores} logical cores (availableParallelism ${m.availableParallelism}), ${gib} GiB RAM, ` +
    `Node ${m.node} (V8 ${m.v8}), ${m.platform}, load ${m.loadAverage1m.toFixed(2)}, ` +
    `commit ${m.shortCommit}${m.dirty ? ' + uncommitted changes' : ''}`
  );
}
