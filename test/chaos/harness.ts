/**
 * The fault suite's harness (GitHub issue "At-least-once that holds under faults … proven by a fault
 * suite"). Each case pushes a deterministic input stream (dataset.ts) through `saferoads run` child
 * processes (service-process.ts) while it injects faults, then compares the output topic with a
 * fault-free run of the same input (compare.ts) and records its figures (figures.ts).
 *
 * A case:
 *   const d = chaosDataset({ points, partitions, minutes, ratePerSecond, seed });
 *   const baseline = await runBaseline('kill', brokers, d);            // fault-free, checked complete
 *   const run = await ChaosRun.prepare('kill', brokers, d);            // fresh topics, weather written
 *   const p = run.producer(d.records, 1).start();                      // paced car records
 *   const svc = run.spawn('svc'); … svc.kill(); run.spawn('svc'); …    // faults
 *   await p.done;
 *   const result = await run.finish();                                 // waits for every row, stops, reads
 *   concludeCase({ case: 'kill', run: result, baseline });             // asserts, prints, records
 *
 * Short versions run in `npm test`; SAFEROADS_CHAOS=full (`npm run chaos`) runs the full ones.
 * Diagnosis: SAFEROADS_CHAOS_VERBOSE=1 prints every case's timeline (it is printed on failure anyway,
 * with the folder of the processes' stdout/stderr); SAFEROADS_CHAOS_MAIN=path/to/dist/src/cli/main.js
 * runs the cases against another build of the service (e.g. an older commit built elsewhere).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { type ChaosDataset, recordsPerPartition, rowKey, type TimedRecord, weatherRecords } from './dataset.js';
import {
  type DiffReport,
  diffRuns,
  type DlqRecord,
  dlqRecords,
  type ExpectedDeadLetter,
  expectCompleteBaseline,
  formatReport,
  type OutputRow,
  outputRows,
  PASSING,
} from './compare.js';
import { type CaseFigures, distribution, firstProgressMs, recordFigures } from './figures.js';
import { type ChaosTopics, chaosTopics, createTopics, endOffsets, produceAll, readTopic, recordCount, TopicFollower } from './kafka-io.js';
import { PacedProducer } from './producer.js';
import { type ExitRecord, Fleet, type ServiceProcess, Timeline } from './service-process.js';

export { rowKey, chaosDataset, type ChaosDataset, type TimedRecord } from './dataset.js';

export const CHAOS_MODE: 'short' | 'full' = process.env.SAFEROADS_CHAOS === 'full' ? 'full' : 'short';

/** The short (npm test) or the full (npm run chaos) value. */
export function pick<T>(short: T, full: T): T {
  return CHAOS_MODE === 'full' ? full : short;
}

export interface RunResult {
  label: string;
  topics: ChaosTopics;
  /** Where the processes' stdout/stderr files are. */
  dir: string;
  rows: OutputRow[];
  carDlq: DlqRecord[];
  weatherDlq: DlqRecord[];
  exits: ExitRecord[];
  /** Every expected row arrived before the deadline. */
  complete: boolean;
  timeline: Timeline;
  startedAtMs: number;
  wallMs: number;
}

export interface FinishOptions {
  /** How long to wait for every expected row (default: short 150 s, full 600 s). */
  timeoutMs?: number;
  /** After the last expected row, how long to let duplicates or extras still come (default 2 s). */
  settleMs?: number;
}

/** One run: its own topics and consumer group, the weather written, a fleet of service processes. */
export class ChaosRun {
  readonly timeline = new Timeline();
  readonly fleet: Fleet;
  readonly startedAtMs = Date.now();
  private producers: PacedProducer[] = [];

  private constructor(
    readonly label: string,
    readonly brokers: readonly string[],
    readonly dataset: ChaosDataset,
    readonly topics: ChaosTopics,
    readonly dir: string,
    shards: number,
    extraArgs: readonly string[],
  ) {
    const pointsPath = join(dir, 'points.csv');
    writeFileSync(pointsPath, dataset.pointsCsv);
    this.fleet = new Fleet({ brokers, pointsPath, topics, partitions: dataset.partitions, shards, logDir: dir, extraArgs }, this.timeline);
  }

  /** Fresh topics (car and output with the dataset's partitions), every weather reading written first. */
  static async prepare(
    label: string,
    brokers: readonly string[],
    dataset: ChaosDataset,
    /** `extraArgs`: more `saferoads run` flags (later flags win over the harness's defaults). */
    options: { shards?: number; extraArgs?: readonly string[] } = {},
  ): Promise<ChaosRun> {
    const topics = chaosTopics(label);
    const dir = mkdtempSync(join(tmpdir(), `saferoads-chaos-${label}-`));
    await createTopics(brokers, topics, dataset.partitions);
    await produceAll(brokers, topics.weather, weatherRecords(dataset));
    return new ChaosRun(label, brokers, dataset, topics, dir, options.shards ?? 1, options.extraArgs ?? []);
  }

  /** Starts the next process of instance `name` (`svc` → svc#1, svc#2, …). */
  spawn(name = 'svc'): ServiceProcess {
    return this.fleet.spawn(name);
  }

  /** A paced producer of `records` into the car topic (not started). */
  producer(records: readonly TimedRecord[], minutesPerSecond: number): PacedProducer {
    const p = new PacedProducer({ brokers: this.brokers, topic: this.topics.car, records, minutesPerSecond });
    this.producers.push(p);
    void p.done.then(
      () => this.timeline.add('produce-end', undefined, `${p.total} records`),
      (e: unknown) => this.timeline.add('produce-end', undefined, `FAILED: ${String(e)}`),
    );
    return p;
  }

  /** Produces records at once (no pacing), e.g. bad records waiting before the service starts. */
  async produceNow(records: readonly TimedRecord[]): Promise<void> {
    await produceAll(this.brokers, this.topics.car, records.map((r) => ({ key: r.key, value: r.value })));
  }

  /** Records on the output topic now (NaN when the broker does not answer). */
  async outputCount(): Promise<number> {
    return recordCount(this.brokers, this.topics.output).catch(() => NaN);
  }

  /** Waits until the output topic holds more than `than` records; false on timeout. */
  async waitForNewOutput(than: number, timeoutMs: number): Promise<boolean> {
    // A count taken while the broker did not answer (NaN): any record is new then.
    if (Number.isNaN(than)) than = 0;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.outputCount()) > than) return true;
      await sleep(100);
    }
    return false;
  }

  /** Polls `condition` every 100 ms; false (and a timeline note) if it is not met within `timeoutMs`. */
  async waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await condition()) return true;
      await sleep(100);
    }
    this.timeline.add('note', undefined, `gave up waiting ${timeoutMs} ms for ${what}`);
    return false;
  }

  /** The car topic holds exactly `records` per partition: the input was written once, in full. */
  async expectCarTopic(records: readonly TimedRecord[]): Promise<void> {
    const got = (await endOffsets(this.brokers, this.topics.car)).map(Number);
    const want = recordsPerPartition(records, this.dataset.partitions);
    let detail = '';
    if (got.some((n, p) => n !== want[p])) {
      // Which records are not as produced: written twice, or lost.
      const written = await readTopic(this.brokers, this.topics.car, { timeoutMs: 120_000 });
      const times = new Map<string, number>();
      for (const r of written) times.set(r.value!.toString('latin1'), (times.get(r.value!.toString('latin1')) ?? 0) + 1);
      const twice = [...times.entries()].filter(([, n]) => n > 1);
      const lost = records.filter((r) => !times.has(typeof r.value === 'string' ? Buffer.from(r.value).toString('latin1') : r.value.toString('latin1')));
      const at = written.filter((r) => (times.get(r.value!.toString('latin1')) ?? 0) > 1).slice(0, 6).map((r) => `${r.partition}@${r.offset} ts ${new Date(r.timestampMs).toISOString()}`);
      detail = `; ${twice.length} records written more than once (at ${at.join(', ')}), ${lost.length} never written`;
    }
    expect(got, `${this.label}: records per partition of the car topic${detail}`).toEqual(want);
  }

  /**
   * Waits until every expected (point, window end) is on the output topic, or no process is left
   * running, or the deadline passed; then lets `settleMs` pass, stops the live processes gracefully
   * (SIGTERM), and reads the output and dead-letter topics whole.
   */
  async finish(options: FinishOptions = {}): Promise<RunResult> {
    const timeoutMs = options.timeoutMs ?? pick(150_000, 600_000);
    const expected = this.dataset.expectedKeys;
    const follower = new TopicFollower(this.brokers, this.topics.output);
    const have = new Set<string>();
    const deadline = Date.now() + timeoutMs;
    let lastCount = -1;
    let complete = false;
    for (;;) {
      const anyAlive = this.fleet.live().length > 0;
      const count = await this.outputCount();
      if (count >= expected.size && count !== lastCount) {
        try {
          await follower.poll();
          lastCount = count;
          for (const row of outputRows(follower.records.splice(0))) have.add(rowKey(row.pointId, row.windowEnd));
        } catch {
          // broker away or a record that is not a risk record: counted at the end
        }
        if ([...expected].every((k) => have.has(k))) {
          complete = true;
          break;
        }
      }
      if (!anyAlive || Date.now() > deadline) break;
      await sleep(500);
    }
    this.timeline.add(
      'note',
      undefined,
      complete ? 'every expected row is on the output topic' : `incomplete: ${await this.outputCount()} records on the output topic for ${expected.size} expected rows`,
    );
    if (complete) await sleep(options.settleMs ?? 2_000);
    await this.fleet.stopAll('SIGTERM');
    const [output, carDlq, weatherDlq] = await Promise.all([
      readTopic(this.brokers, this.topics.output, { timeoutMs: 120_000 }),
      readTopic(this.brokers, this.topics.carDlq, { timeoutMs: 300_000 }),
      readTopic(this.brokers, this.topics.weatherDlq, { timeoutMs: 60_000 }),
    ]);
    return {
      label: this.label,
      topics: this.topics,
      dir: this.dir,
      rows: outputRows(output),
      carDlq: dlqRecords(carDlq),
      weatherDlq: dlqRecords(weatherDlq),
      exits: this.fleet.exits(),
      complete,
      timeline: this.timeline,
      startedAtMs: this.startedAtMs,
      wallMs: Date.now() - this.startedAtMs,
    };
  }

  /** Kills whatever still runs (call in `finally`). */
  async dispose(): Promise<void> {
    for (const p of this.producers) p.cancel();
    await this.fleet.killAll();
  }
}

export interface BaselineOptions {
  /** Pace the producer while the service runs (default: everything produced before it starts). */
  minutesPerSecond?: number;
  shards?: number;
  extraArgs?: readonly string[];
  timeoutMs?: number;
}

/**
 * The fault-free run: one process, no faults; the output is checked to hold every expected
 * (point, window end) exactly once, with no dead letters and a clean exit.
 */
export async function runBaseline(label: string, brokers: readonly string[], dataset: ChaosDataset, options: BaselineOptions = {}): Promise<RunResult> {
  const run = await ChaosRun.prepare(`${label}-base`, brokers, dataset, { shards: options.shards, extraArgs: options.extraArgs });
  try {
    if (options.minutesPerSecond === undefined) {
      await run.produceNow(dataset.records);
      run.spawn('base');
    } else {
      run.spawn('base');
      const producer = run.producer(dataset.records, options.minutesPerSecond).start();
      await producer.done;
    }
    await run.expectCarTopic(dataset.records);
    const result = await run.finish({ timeoutMs: options.timeoutMs });
    const report = diffRuns({ label: `${label} fault-free`, baseline: result.rows, faulty: result.rows, carTopic: run.topics.car, carDlq: result.carDlq, weatherDlq: result.weatherDlq, exits: result.exits });
    if (!report.ok || !result.complete) process.stderr.write(`${formatReport(report)}\n${result.timeline.format()}\n  logs: ${result.dir}\n`);
    expect(report.counts, `${label}: the fault-free run has dead letters or a bad exit\n${formatReport(report)}`).toMatchObject(PASSING);
    expectCompleteBaseline(result.rows, dataset.expectedKeys, `${label} fault-free`);
    return result;
  } finally {
    await run.dispose();
  }
}

export interface Conclusion {
  case: string;
  run: RunResult;
  baseline: RunResult;
  /** Bad records the case injected (default none). */
  expectedCarDlq?: readonly ExpectedDeadLetter[];
  /** Figures the case measured itself (outages, takeovers), merged in. */
  figures?: Partial<CaseFigures>;
}

/** Kill → restart pairs of the timeline: each SIGKILL and the spawn of the same instance after it. */
function restartsAfterKills(run: RunResult): { killAtMs: number; spawnAtMs: number | undefined; who: string }[] {
  const events = run.timeline.events;
  return events
    .filter((e) => e.kind === 'kill')
    .map((kill) => {
      const name = kill.who!.split('#')[0]!;
      const spawn = events.find((e) => e.kind === 'spawn' && e.atMs >= kill.atMs && e.who!.split('#')[0] === name && e.who !== kill.who);
      return { killAtMs: kill.atMs, spawnAtMs: spawn?.atMs, who: kill.who! };
    });
}

/**
 * Compares the run with the fault-free one, prints the case's figures line (and on failure the diff
 * summary, the timeline and where the logs are), records the figures, and asserts.
 */
export function concludeCase(c: Conclusion): DiffReport {
  const { run } = c;
  const report = diffRuns({
    label: `${c.case} (${CHAOS_MODE})`,
    baseline: c.baseline.rows,
    faulty: run.rows,
    carTopic: run.topics.car,
    carDlq: run.carDlq,
    expectedCarDlq: c.expectedCarDlq,
    weatherDlq: run.weatherDlq,
    exits: run.exits,
  });
  const restarts = restartsAfterKills(run);
  const restartSamples: number[] = [];
  let survived = 0;
  restarts.forEach((r, i) => {
    // A restart's own figure: its first progress before the next kill (a process killed while
    // starting has none); survived: the output went on after the kill at all (or ended complete).
    const nextKillAtMs = restarts[i + 1]?.killAtMs ?? Infinity;
    const own = r.spawnAtMs === undefined ? undefined : firstProgressMs(run.rows, r.killAtMs, r.spawnAtMs, undefined, nextKillAtMs);
    if (own !== undefined) restartSamples.push(own);
    if (firstProgressMs(run.rows, r.killAtMs, r.killAtMs) !== undefined || (run.complete && report.ok)) survived++;
  });
  const figures: CaseFigures = {
    case: c.case,
    mode: CHAOS_MODE,
    ok: report.ok && run.complete,
    kills: restarts.length,
    killsSurvived: survived,
    restartToFirstRowMs: distribution(restartSamples),
    rows: run.rows.length,
    identicalDuplicates: report.counts.identicalDuplicates,
    deadLetters: run.carDlq.length,
    wallMs: run.wallMs,
    ...c.figures,
  };
  recordFigures(figures);
  const summary = formatReport(report, 5, run.timeline.startedAtMs);
  if (!report.ok || !run.complete || process.env.SAFEROADS_CHAOS_VERBOSE) {
    process.stderr.write(`${summary}\n  timeline of ${c.case}:\n${run.timeline.format()}\n  logs: ${run.dir}\n`);
  }
  expect(report.counts, summary).toMatchObject(PASSING);
  expect(run.complete, `${c.case}: every expected row arrived before the deadline`).toBe(true);
  // Passed: the processes' logs are of no more use (a failing case keeps them, and says where).
  if (!process.env.SAFEROADS_CHAOS_VERBOSE) for (const dir of [run.dir, c.baseline.dir]) rmSync(dir, { recursive: true, force: true });
  return report;
}
