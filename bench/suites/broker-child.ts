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
 * - mode "live": as "service", on a car topic still being produced in real time (suite "live"):
 *   prints `READY` once SaferoadsService.start resolved, and learns `expected` from one JSON line
 *   on stdin when the input is complete.
 *
 * SAFEROADS_BENCH_OBSERVE=1 runs the service with metrics and health on (`--http`, a free port) and
 * scrapes /metrics every second (Prometheus scrapes every 15 s or so: an upper bound of the cost).
 */
import { type FetchOptions, KafkaClient } from '../../src/kafka/client.js';
import { Observability } from '../../src/observe/observability.js';
import { SaferoadsService } from '../../src/service/service.js';

export interface ChildTask {
  mode: 'service' | 'consume' | 'live';
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
  /** consume mode: the consumers' fetch settings (KafkaClient ReadOptions / ConsumeOptions.fetch). */
  fetch?: FetchOptions;
  /**
   * consume mode: more than 1 runs this many consumers of one group in this process
   * (KafkaClient.consume, partitions shared between them) instead of one KafkaClient.read.
   */
  consumers?: number;
  /** consume mode: use KafkaClient.consume (a group of `consumers`, default 1) even for one consumer. */
  group?: boolean;
  /** consume mode: read each partition up to this offset only (default: its end); expected.records must match. */
  until?: Record<string, number>;
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
  /** consume mode with `group`: when the first consumer joined its group (fetching begins), ms. */
  joinedMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live mode: the first line on stdin, the expected output (the input is complete by then). */
function expectedFromStdin(failure: () => unknown): Promise<ChildTask['expected']> {
  return new Promise((resolve, reject) => {
    let text = '';
    const watch = setInterval(() => {
      if (failure() !== undefined) {
        clearInterval(watch);
        reject(failure());
      }
    }, 50);
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      clearInterval(watch);
      process.stdin.pause();
      resolve(JSON.parse(text.slice(0, nl)) as ChildTask['expected']);
    });
    process.stdin.on('end', () => {
      clearInterval(watch);
      reject(new Error('live: stdin closed before the expected output arrived'));
    });
  });
}

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
    if (task.mode === 'live') {
      process.stdout.write('READY\n');
      task.expected = await expectedFromStdin(() => failure);
    }
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
    const ends = await client.endOffsets(task.carTopic);
    // A prefix of each partition (the fetch suite on a large topic), or all of it.
    const until = task.until ? new Map(Object.entries(task.until).map(([p, o]) => [Number(p), BigInt(o)])) : ends;
    let records = 0;
    let firstRecordMs = NaN;
    let moved = performance.now();
    let reader: { caughtUp: Promise<void>; close(): Promise<void> };
    let joinedMs = NaN;
    if ((task.consumers ?? 1) <= 1 && !task.group) {
      reader = await client.read({
        topic: task.carTopic,
        until,
        follow: false,
        fetch: task.fetch,
        onBatch: async (batch) => {
          if (Number.isNaN(firstRecordMs)) firstRecordMs = performance.now() - t0;
          records += batch.length;
          moved = performance.now();
        },
      });
    } else {
      // Several consumers of one group: a rebalance may deliver a partition's records again, so
      // each partition counts from its next offset only.
      const next = new Map<number, bigint>([...until.keys()].map((p) => [p, 0n]));
      let done!: () => void;
      const caughtUp = new Promise<void>((resolve) => (done = resolve));
      const check = () => {
        if ([...until].every(([p, end]) => (next.get(p) ?? 0n) >= end)) done();
      };
      check();
      const consumers = await Promise.all(
        Array.from({ length: task.consumers ?? 1 }, () =>
          client.consume({
            groupId: `${task.runId}-group`,
            topics: [task.carTopic],
            fromBeginning: true,
            fetch: task.fetch,
            // At the join itself (consume() of the other consumer may return seconds later).
            onAssignment: () => void (Number.isNaN(joinedMs) && (joinedMs = performance.now() - t0)),
            onBatch: async (batch, { partition }) => {
              if (Number.isNaN(firstRecordMs)) firstRecordMs = performance.now() - t0;
              const from = next.get(partition) ?? 0n;
              const end = until.get(partition) ?? 0n;
              for (const r of batch) if (r.offset >= from && r.offset < end) records++;
              const last = batch.at(-1);
              if (last && last.offset + 1n > from) next.set(partition, last.offset + 1n);
              moved = performance.now();
              check();
            },
          }),
        ),
      );
      reader = { caughtUp, close: async () => void (await Promise.all(consumers.map((c) => c.close()))) };
    }
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
    return {
      startedMs,
      firstRecordMs,
      doneMs,
      records,
      rssBaseBytes: base.rss,
      rssPeakBytes: rssPeak,
      heapPeakBytes: heapPeak,
      ...(Number.isNaN(joinedMs) ? {} : { joinedMs }),
    };
  } finally {
    clearInterval(sampler);
    await client.close().catch(() => undefined);
  }
}

const task = JSON.parse(process.argv[2] ?? '{}') as ChildTask;
try {
  const result = task.mode === 'consume' ? await runConsume(task) : await runService(task);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
}
