/**
 * One measured run against the real broker, in a process of its own (clean heap, RSS and JIT state
 * for every run; `--cpu-prof` can be given to it). Started by the e2e / ceiling suites with one JSON
 * argument (ChildTask); prints one line `RESULT {json}` on success, or the error on stderr and exits 1.
 *
 * - mode "service": SaferoadsService.start on a car topic that already holds the whole input, timed
 *   until stats.lastEnd reaches the expected last window end and service.idle() resolved.
 * - mode "consume": the consume-only ceiling: KafkaClient.read over the same topic, counting
 *   records and decoding nothing, until it has them all.
 *
 * SAFEROADS_BENCH_OBSERVE=1 runs the service with metrics and health on (`--http`, a free port) and
 * scrapes /metrics every second (Prometheus scrapes every 15 s or so: an upper bound of the cost).
 */
import { KafkaClient } from '../../src/kafka/client.js';
import { Observability } from '../../src/observe/observability.js';
import { SaferoadsService } from '../../src/service/service.js';

export interface ChildTask {
  mode: 'service' | 'consume';
  brokers: string[];
  pointsPath: string;
  carTopic: string;
  weatherTopic: string;
  /** Unique per run: group and output/DLQ topics. */
  runId: string;
  shards: number;
  graceS: number;
  partitions: number;
  expected: { records: number; events: number; lastEnd: number; rows: number };
  /** Fail when nothing moves for this long. */
  stallMs: number;
}

export interface ChildResult {
  /** performance.now() offsets from the start of the timed section, ms. */
  startedMs: number;
  firstRecordMs: number;
  doneMs: number;
  records: number;
  rowsOut?: number;
  lastEnd?: number;
  deadLetters?: number;
  weatherDeadLetters?: number;
  latencyMs?: number[];
  rssBaseBytes: number;
  rssPeakBytes: number;
  heapPeakBytes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runService(task: ChildTask): Promise<ChildResult> {
  const base = process.memoryUsage();
  let rssPeak = base.rss;
  let heapPeak = base.heapUsed;
  let service: SaferoadsService | undefined;
  let failure: unknown;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > rssPeak) rssPeak = m.rss;
    if (m.heapUsed > heapPeak) heapPeak = m.heapUsed;
  }, 50);
  const observe = process.env.SAFEROADS_BENCH_OBSERVE === '1' ? await Observability.start({ host: '127.0.0.1', port: 0 }) : undefined;
  const scraper = observe
    ? setInterval(() => void fetch(`http://127.0.0.1:${observe.address.port}/metrics`).then((r) => r.text()).catch(() => undefined), 1000)
    : undefined;
  const t0 = performance.now();
  try {
    service = await SaferoadsService.start({
      observer: observe,
      brokers: task.brokers,
      clientId: `saferoads-bench-${task.runId}`,
      pointsPath: task.pointsPath,
      shards: task.shards,
      groupId: `${task.runId}-group`,
      carTopic: task.carTopic,
      weatherTopic: task.weatherTopic,
      outputTopic: `${task.runId}-risk`,
      carDlqTopic: `${task.runId}-car.dlq`,
      weatherDlqTopic: `${task.runId}-weather.dlq`,
      inputPartitions: task.partitions,
      windows: { graceS: task.graceS },
      log: () => {},
      onError: (error) => void (failure ??= error),
    });
    const startedMs = performance.now() - t0;
    let firstRecordMs = NaN;
    let moved = performance.now();
    let seen = '';
    const stats = service.stats;
    // Both: the last window end (the output is complete) and every record routed (all input read;
    // records beyond the last end's needs may arrive after it).
    while (stats.lastEnd !== task.expected.lastEnd || stats.carRecords < task.expected.records) {
      if (failure !== undefined) throw failure;
      if (Number.isNaN(firstRecordMs) && stats.carRecords > 0) firstRecordMs = performance.now() - t0;
      const now = `${stats.carRecords}/${stats.rowsOut}/${stats.lastEnd}`;
      if (now !== seen) {
        seen = now;
        moved = performance.now();
      } else if (performance.now() - moved > task.stallMs) {
        throw new Error(
          `no progress for ${task.stallMs} ms: ${stats.carRecords} of ${task.expected.records} records, ${stats.rowsOut} of ` +
            `${task.expected.rows} rows, last window end ${stats.lastEnd} (expected ${task.expected.lastEnd}), ${stats.deadLetters} dead letters`,
        );
      }
      if (stats.lastEnd > task.expected.lastEnd) throw new Error(`last window end ${stats.lastEnd} is past the expected ${task.expected.lastEnd}`);
      await sleep(Number.isNaN(firstRecordMs) ? 2 : 5);
    }
    await service.idle();
    const doneMs = performance.now() - t0;
    if (failure !== undefined) throw failure;
    clearInterval(sampler);
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    return {
      startedMs,
      firstRecordMs: Number.isNaN(firstRecordMs) ? startedMs : firstRecordMs,
      doneMs,
      records: stats.carRecords,
      rowsOut: stats.rowsOut,
      lastEnd: stats.lastEnd,
      deadLetters: stats.deadLetters,
      weatherDeadLetters: stats.weatherDeadLetters,
      latencyMs: [...stats.emissionLatencyMs],
      rssBaseBytes: base.rss,
      rssPeakBytes: rssPeak,
      heapPeakBytes: heapPeak,
    };
  } finally {
    clearInterval(sampler);
    clearInterval(scraper);
    await service?.stop().catch(() => undefined);
    await observe?.close();
  }
}

async function runConsume(task: ChildTask): Promise<ChildResult> {
  const base = process.memoryUsage();
  let rssPeak = base.rss;
  let heapPeak = base.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss > rssPeak) rssPeak = m.rss;
    if (m.heapUsed > heapPeak) heapPeak = m.heapUsed;
  }, 50);
  const client = new KafkaClient({ brokers: task.brokers, clientId: `saferoads-bench-${task.runId}` });
  try {
    const t0 = performance.now();
    const until = await client.endOffsets(task.carTopic);
    let records = 0;
    let firstRecordMs = NaN;
    let moved = performance.now();
    const reader = await client.read({
      topic: task.carTopic,
      until,
      follow: false,
      onBatch: async (batch) => {
        if (Number.isNaN(firstRecordMs)) firstRecordMs = performance.now() - t0;
        records += batch.length;
        moved = performance.now();
      },
    });
    const startedMs = performance.now() - t0;
    let stalled: NodeJS.Timeout | undefined;
    await Promise.race([
      reader.caughtUp,
      new Promise<never>((_, reject) => {
        stalled = setInterval(() => {
          if (performance.now() - moved > task.stallMs) reject(new Error(`consume-only: no record for ${task.stallMs} ms (${records} of ${task.expected.records})`));
        }, 100);
      }),
    ]).finally(() => clearInterval(stalled));
    const doneMs = performance.now() - t0;
    await reader.close();
    if (records !== task.expected.records) throw new Error(`consume-only read ${records} records, expected ${task.expected.records}`);
    return { startedMs, firstRecordMs, doneMs, records, rssBaseBytes: base.rss, rssPeakBytes: rssPeak, heapPeakBytes: heapPeak };
  } finally {
    clearInterval(sampler);
    await client.close().catch(() => undefined);
  }
}

const task = JSON.parse(process.argv[2] ?? '{}') as ChildTask;
try {
  const result = task.mode === 'service' ? await runService(task) : await runConsume(task);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
