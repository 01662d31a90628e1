/**
 * `saferoads run` as a child process (the built CLI, as deployed): spawned with only PATH, HOME and
 * KAFKA_BROKERS in its environment, stdout and stderr captured to files for diagnosis, killed with
 * SIGKILL or stopped with SIGTERM/SIGINT (run.ts finishes the batch in hand, commits and exits 0),
 * every exit recorded with what caused it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PACKAGE_ROOT } from '../../src/paths.js';
import type { ChaosTopics } from './kafka-io.js';
import { GRACE_S } from './dataset.js';

/** The CLI the suite runs: the build of this tree, or SAFEROADS_CHAOS_MAIN (another build of main.js). */
export function serviceMain(): string {
  const path = process.env.SAFEROADS_CHAOS_MAIN || join(PACKAGE_ROOT, 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(path)) throw new Error(`${path} is missing: run npm run build first (npm test and npm run chaos do)`);
  return path;
}

/** What happened when, wall-clock ms (Date.now()): the run's history, for figures and diagnosis. */
export interface TimelineEvent {
  atMs: number;
  kind: 'spawn' | 'ready' | 'assigned' | 'kill' | 'stop' | 'exit' | 'broker-halt' | 'broker-resume' | 'produce-start' | 'produce-end' | 'note';
  /** The instance (e.g. `svc#2`), when it concerns one. */
  who?: string;
  detail?: string;
}

export class Timeline {
  readonly events: TimelineEvent[] = [];
  /** Wall-clock ms the timeline counts from. */
  readonly startedAtMs = Date.now();
  private get t0(): number {
    return this.startedAtMs;
  }

  add(kind: TimelineEvent['kind'], who?: string, detail?: string): TimelineEvent {
    const e = { atMs: Date.now(), kind, who, detail };
    this.events.push(e);
    return e;
  }

  /** One line per event, seconds since the run began. */
  format(): string {
    return this.events
      .map((e) => `  +${((e.atMs - this.t0) / 1000).toFixed(2).padStart(7)} s  ${e.kind.padEnd(13)} ${e.who ?? ''}${e.detail ? `  ${e.detail}` : ''}`)
      .join('\n');
  }
}

export type StopSignal = 'SIGTERM' | 'SIGINT';

export interface ExitRecord {
  /** `name#generation`, e.g. `svc#3` (the 3rd process of instance `svc`). */
  who: string;
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The signal the harness sent before this exit (undefined: the process exited by itself). */
  requested?: NodeJS.Signals;
  /** A graceful stop that did not end within its time and had to be killed. */
  forced?: boolean;
  atMs: number;
  stderrTail: string;
}

export interface ServiceSpec {
  brokers: readonly string[];
  pointsPath: string;
  topics: ChaosTopics;
  partitions: number;
  /** Shard threads per process (default 1: two cores, several processes, one broker). */
  shards?: number;
  /** Where stdout/stderr files go. */
  logDir: string;
  /** More flags for `saferoads run`. */
  extraArgs?: readonly string[];
}

/** The flags of `saferoads run` for a spec (idle timeout huge: wall-clock idleness never matters). */
export function runArgs(spec: ServiceSpec): string[] {
  const t = spec.topics;
  return [
    'run',
    '--points', spec.pointsPath,
    '--group-id', t.group,
    '--car-topic', t.car,
    '--weather-topic', t.weather,
    '--output-topic', t.output,
    '--car-dlq-topic', t.carDlq,
    '--weather-dlq-topic', t.weatherDlq,
    '--partitions', String(spec.partitions),
    '--shards', String(spec.shards ?? 1),
    '--grace', String(GRACE_S),
    '--idle-timeout', '3600',
    '--commit-interval', '200',
    // Several processes at once: each on a free port (the default 9464 would be taken by the first).
    '--http', '127.0.0.1:0',
    ...(spec.extraArgs ?? []),
  ];
}

const TAIL_LINES = 40;
/** How long after its "consuming" line a graceful stop waits before signalling (see stop()). */
export const SIGNAL_HANDLER_GRACE_MS = 500;

/** One process of `saferoads run`. */
export class ServiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly spawnedAtMs: number;
  /** Wall-clock ms when it said it is consuming (NaN before). */
  readyAtMs = NaN;
  /** Resolves when the service said it is consuming; rejects if it exited before. */
  readonly ready: Promise<void>;
  readonly exited: Promise<ExitRecord>;
  /** Each assignment the service logged: wall-clock ms and partitions of the car topic. */
  readonly assignments: { atMs: number; partitions: number[] }[] = [];
  requested?: NodeJS.Signals;
  exit?: ExitRecord;
  private readonly tail: string[] = [];
  private readonly out: WriteStream;
  private readonly err: WriteStream;
  private forced = false;

  constructor(
    readonly spec: ServiceSpec,
    readonly who: string,
    private readonly timeline: Timeline,
  ) {
    const file = who.replace(/[^a-zA-Z0-9_.-]/g, '_');
    this.out = createWriteStream(join(spec.logDir, `${file}.stdout`));
    this.err = createWriteStream(join(spec.logDir, `${file}.stderr`));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, KAFKA_BROKERS: spec.brokers.join(',') };
    this.spawnedAtMs = Date.now();
    this.child = spawn(process.execPath, [serviceMain(), ...runArgs(spec)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.child.pid === undefined) throw new Error(`${who}: could not spawn node`);
    this.pid = this.child.pid;
    timeline.add('spawn', who, `pid ${this.pid}`);
    this.child.stdout!.pipe(this.out);
    let onReady!: () => void;
    let notReady!: (error: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      notReady = reject;
    });
    this.ready.catch(() => undefined);
    const lines = createInterface({ input: this.child.stderr! });
    lines.on('line', (line) => {
      this.err.write(`${new Date().toISOString()} ${line}\n`);
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
      if (Number.isNaN(this.readyAtMs) && /^saferoads run: consuming |"msg":"consuming /.test(line)) {
        this.readyAtMs = Date.now();
        timeline.add('ready', who);
        onReady();
      }
      const assigned = /assigned partitions \[([\d,]*)\]/.exec(line);
      if (assigned) {
        const partitions = assigned[1] === '' ? [] : assigned[1]!.split(',').map(Number);
        this.assignments.push({ atMs: Date.now(), partitions });
        timeline.add('assigned', who, `[${partitions.join(',')}]`);
      }
    });
    const closed = new Promise<void>((resolve) => lines.once('close', resolve));
    this.exited = new Promise<ExitRecord>((resolve) => {
      this.child.once('exit', (code, signal) => {
        const atMs = Date.now();
        void closed.then(() => {
          this.err.end();
          this.out.end();
          const record: ExitRecord = {
            who,
            pid: this.pid,
            code,
            signal,
            requested: this.requested,
            forced: this.forced || undefined,
            atMs,
            stderrTail: this.tail.join('\n'),
          };
          this.exit = record;
          timeline.add('exit', who, `code ${code} signal ${signal}${this.requested ? ` (after our ${this.requested})` : ' (by itself)'}`);
          notReady(new Error(`${who} exited (code ${code}, signal ${signal}) before it was consuming:\n${record.stderrTail}`));
          resolve(record);
        });
      });
    });
  }

  get alive(): boolean {
    return this.exit === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9, at once. */
  kill(): Promise<ExitRecord> {
    if (this.alive) {
      this.requested = 'SIGKILL';
      this.timeline.add('kill', this.who, 'SIGKILL');
      this.child.kill('SIGKILL');
    }
    return this.exited;
  }

  /**
   * Graceful stop: waits (up to `readyTimeoutMs`) until the service is consuming — before that the
   * CLI has no signal handler yet, a signal kills it outright — and SIGNAL_HANDLER_GRACE_MS more, then
   * sends `signal` and waits up to `timeoutMs` for the exit; a process still running then is killed
   * and its exit marked `forced`.
   */
  async stop(signal: StopSignal = 'SIGTERM', timeoutMs = 30_000, readyTimeoutMs = 60_000): Promise<ExitRecord> {
    if (!this.alive) return this.exited;
    await Promise.race([this.ready.catch(() => undefined), new Promise((r) => setTimeout(r, readyTimeoutMs))]);
    // run.ts prints the "consuming" line just before it installs its SIGINT/SIGTERM handlers; on a
    // loaded machine a signal sent at once can fall in between and kill it by the default action.
    const sinceReady = Date.now() - this.readyAtMs;
    if (sinceReady < SIGNAL_HANDLER_GRACE_MS) await new Promise((r) => setTimeout(r, SIGNAL_HANDLER_GRACE_MS - sinceReady));
    if (!this.alive) return this.exited;
    this.requested = signal;
    this.timeline.add('stop', this.who, signal);
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut && this.alive) {
      this.forced = true;
      this.child.kill('SIGKILL');
    }
    return this.exited;
  }

  /** The last lines it wrote on stderr. */
  stderrTail(): string {
    return this.tail.join('\n');
  }
}

/** Every process the harness started, so none outlives the test (also on failure or a crash). */
const everyProcess = new Set<ServiceProcess>();
process.once('exit', () => {
  for (const p of everyProcess) if (p.alive) p.child.kill('SIGKILL');
});

/** A named instance's processes: `spawn()` starts the next generation (`svc#1`, `svc#2`, …). */
export class Fleet {
  readonly processes: ServiceProcess[] = [];
  private readonly generations = new Map<string, number>();

  constructor(
    private readonly spec: ServiceSpec,
    readonly timeline: Timeline,
  ) {}

  spawn(name: string, overrides: Partial<ServiceSpec> = {}): ServiceProcess {
    const generation = (this.generations.get(name) ?? 0) + 1;
    this.generations.set(name, generation);
    const p = new ServiceProcess({ ...this.spec, ...overrides }, `${name}#${generation}`, this.timeline);
    this.processes.push(p);
    everyProcess.add(p);
    void p.exited.then(() => everyProcess.delete(p));
    return p;
  }

  live(): ServiceProcess[] {
    return this.processes.filter((p) => p.alive);
  }

  /** Graceful stop of every live process, all at once. */
  async stopAll(signal: StopSignal = 'SIGTERM'): Promise<void> {
    await Promise.all(this.live().map((p) => p.stop(signal)));
  }

  /** kill -9 of whatever still runs (cleanup). */
  async killAll(): Promise<void> {
    await Promise.all(this.live().map((p) => p.kill()));
  }

  /** Every exit so far. */
  exits(): ExitRecord[] {
    return this.processes.flatMap((p) => (p.exit ? [p.exit] : []));
  }
}
