/**
 * Suites "e2e" and "ceiling" over the real broker. The input is produced once per format to a fresh
 * car topic (3 partitions, key = point_id, explicit partition = point index % 3) plus a weather
 * topic; every measured run is a child process (broker-child.ts) with a unique group and output
 * topics, so each run starts cold like a real start and its RSS is the service's alone.
 *
 * e2e: SaferoadsService.start → stats.lastEnd at the expected last window end → idle(); the output
 * is verified (rowsOut = window ends × points, no dead letters) before any figure is kept.
 * ceiling: KafkaClient.read over the same topic, counting records only.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { weatherJson } from '../../src/generate/weather.js';
import { KafkaClient, type Producer } from '../../src/kafka/client.js';
import { type Dataset, encodeDataset, type Expected, type Format, GRACE_S, makeDataset, PARTITIONS } from '../lib/dataset.js';
import { fmt, fmtRate, fmtSummary, percentile, summarize, type Summary } from '../lib/stats.js';
import { runResultChild } from '../lib/child.js';
import type { Table } from '../lib/table.js';
import type { ChildResult, ChildTask } from './broker-child.js';

const CHILD = fileURLToPath(new URL('./broker-child.js', import.meta.url));

export interface BrokerSettings {
  brokers: string[];
  /** Loop events per format (each format gets its own dataset, topics and weather). */
  events: Record<Format, number>;
  points: number;
  formats: Format[];
  shardCounts: number[];
  runs: number;
  ceilingRuns: number;
  /** Write a V8 CPU profile of every e2e run into this directory. */
  profileDir?: string;
  stallMs: number;
}

export interface PreparedTopic {
  format: Format;
  dataset: Dataset;
  topic: string;
  weatherTopic: string;
  expected: Expected;
  produceSeconds: number;
  bytes: number;
}

export interface BrokerData {
  topics: PreparedTopic[];
}

/**
 * Produces `dataset` to `topic` chunk by chunk (streamed: never all of it in memory) and checks the
 * broker holds every record. FlatBuffers messages group what naturally groups (per point, 5 s), or
 * exactly `eventsPerMessage` events of one partition.
 */
export async function produceDataset(
  client: KafkaClient,
  producer: Producer,
  topic: string,
  dataset: Dataset,
  format: Format,
  log: (line: string) => void,
  eventsPerMessage?: number,
): Promise<{ expected: Expected; produceSeconds: number; bytes: number }> {
  const began = performance.now();
  let bytes = 0;
  let failure: unknown;
  const expected = await encodeDataset(
    dataset,
    format,
    async ({ records }) => {
      if (failure !== undefined) throw failure;
      for (const r of records) bytes += typeof r.value === 'string' ? Buffer.byteLength(r.value) : (r.value?.length ?? 0);
      // One chunk at a time, as a real producer keeps a partition's order: chunks in flight
      // together may land out of order, and a chunk spans up to a minute of event time (more
      // than the grace), so its events would be late behind the next one.
      await producer.send(topic, records).catch((error: unknown) => void (failure ??= error));
    },
    5000,
    eventsPerMessage,
  );
  if (failure !== undefined) throw failure;
  const produceSeconds = (performance.now() - began) / 1000;
  const ends = await client.endOffsets(topic);
  const onBroker = expected.partitionRecords.map((_, p) => Number(ends.get(p) ?? 0n));
  if (onBroker.some((n, p) => n !== expected.partitionRecords[p])) {
    throw new Error(`${topic} holds ${onBroker.join('/')} records per partition, expected ${expected.partitionRecords.join('/')}`);
  }
  const grouping = eventsPerMessage === undefined ? '' : ` of ${fmt(eventsPerMessage)} events each`;
  log(
    `  produced ${fmt(expected.events)} events as ${fmt(expected.records)} ${format} records${grouping} (${(bytes / 2 ** 20).toFixed(0)} MiB) ` +
      `in ${produceSeconds.toFixed(1)} s`,
  );
  return { expected, produceSeconds, bytes };
}

/** The weather readings of a dataset to its weather topic. */
export async function produceWeather(producer: Producer, topic: string, dataset: Dataset): Promise<void> {
  const readings = dataset.weather.map((r) => ({ key: r.station, value: weatherJson(r) }));
  for (let i = 0; i < readings.length; i += 2000) await producer.send(topic, readings.slice(i, i + 2000));
}

/** Produces each format's dataset to fresh topics (streamed: never all of it in memory). */
export async function prepareBrokerData(s: BrokerSettings, log: (line: string) => void): Promise<BrokerData> {
  const id = `saferoads-bench-${randomUUID().slice(0, 8)}`;
  const client = new KafkaClient({ brokers: s.brokers, clientId: 'saferoads-bench-producer' });
  try {
    await client.ensureTopics(
      s.formats.flatMap((f) => [
        { topic: `${id}-weather-${f}`, partitions: 1 },
        { topic: `${id}-car-${f}`, partitions: PARTITIONS },
      ]),
    );
    const producer = await client.producer();
    try {
      const topics: PreparedTopic[] = [];
      for (const format of s.formats) {
        const dataset = makeDataset({ events: s.events[format], points: s.points });
        const topic = `${id}-car-${format}`;
        const weatherTopic = `${id}-weather-${format}`;
        await produceWeather(producer, weatherTopic, dataset);
        const { expected, produceSeconds, bytes } = await produceDataset(client, producer, topic, dataset, format, log);
        topics.push({ format, dataset, topic, weatherTopic, expected, produceSeconds, bytes });
      }
      return { topics };
    } finally {
      await producer.close();
    }
  } finally {
    await client.close();
  }
}

export function runChild(task: ChildTask, nodeArgs: string[]): Promise<ChildResult> {
  return runResultChild<ChildResult>([...nodeArgs, CHILD, JSON.stringify(task)], `${task.mode} run ${task.runId}`);
}

export function task(s: Pick<BrokerSettings, 'brokers' | 'stallMs'>, t: PreparedTopic, mode: ChildTask['mode'], shards: number): ChildTask {
  return {
    mode,
    brokers: s.brokers,
    pointsPath: t.dataset.pointsPath,
    carTopic: t.topic,
    weatherTopic: t.weatherTopic,
    runId: `saferoads-bench-${mode}-${randomUUID().slice(0, 8)}`,
    shards,
    graceS: GRACE_S,
    partitions: PARTITIONS,
    expected: { records: t.expected.records, events: t.expected.events, lastEnd: t.expected.lastEnd, rows: t.expected.rows },
    stallMs: s.stallMs,
  };
}

export interface E2eFigure {
  format: Format;
  shards: number;
  /** Events / (start → last window end acknowledged and idle). */
  eventsPerS: Summary;
  /** Events / (first car record → done): the steady-state rate, comparable with the ceiling's. */
  streamEventsPerS: Summary;
  startupS: Summary;
  latencyP50Ms: Summary;
  latencyP99Ms: Summary;
  peakRssMiB: Summary;
  /** Seconds of one run (median). */
  runSeconds: number;
}

export interface CeilingFigure {
  format: Format;
  eventsPerS: Summary;
  streamEventsPerS: Summary;
  recordsPerS: Summary;
  startupS: Summary;
}

export interface E2eResult {
  settings: Omit<BrokerSettings, 'brokers'>;
  topics: { format: Format; records: number; events: number; bytes: number; rows: number; windowEnds: number; produceSeconds: number }[];
  e2e: E2eFigure[];
  ceiling: CeilingFigure[];
  /** Runs shorter than 20 s (the figures then lean on start-up more). */
  shortRuns: number;
}

export function checkService(t: PreparedTopic, r: ChildResult, where: string): void {
  const want = t.expected;
  const problems: string[] = [];
  if (r.rowsOut !== want.rows) problems.push(`${r.rowsOut} rows out, expected ${want.rows} (${want.windowEnds} window ends × points)`);
  if (r.lastEnd !== want.lastEnd) problems.push(`last window end ${r.lastEnd}, expected ${want.lastEnd}`);
  if (r.deadLetters !== 0) problems.push(`${r.deadLetters} dead letters`);
  if (r.weatherDeadLetters !== 0) problems.push(`${r.weatherDeadLetters} weather dead letters`);
  if (r.records < want.records) problems.push(`${r.records} car records processed, expected ${want.records}`);
  if (problems.length > 0) throw new Error(`e2e ${where}: wrong output, no figure kept: ${problems.join('; ')}`);
}

export async function runBrokerSuites(
  s: BrokerSettings,
  data: BrokerData,
  which: { e2e: boolean; ceiling: boolean },
  log: (line: string) => void,
): Promise<E2eResult> {
  const e2eSamples = new Map<string, ChildResult[]>();
  const ceilingSamples = new Map<Format, ChildResult[]>();
  const runs = Math.max(which.e2e ? s.runs : 0, which.ceiling ? s.ceilingRuns : 0);
  let shortRuns = 0;
  for (let run = 0; run < runs; run++) {
    for (const t of data.topics) {
      if (which.ceiling && run < s.ceilingRuns) {
        const r = await runChild(task(s, t, 'consume', 0), []);
        ceilingSamples.set(t.format, [...(ceilingSamples.get(t.format) ?? []), r]);
        const rate = t.expected.events / ((r.doneMs - r.firstRecordMs) / 1000);
        log(`  ceiling: run ${run + 1}/${s.ceilingRuns} ${t.format}: ${fmtRate(rate)} events/s after the first record (${(r.doneMs / 1000).toFixed(1)} s)`);
      }
      if (!which.e2e || run >= s.runs) continue;
      for (const shards of s.shardCounts) {
        const where = `${t.format}, ${shards} shard(s), run ${run + 1}`;
        const nodeArgs = s.profileDir
          ? ['--cpu-prof', `--cpu-prof-dir=${s.profileDir}`, `--cpu-prof-name=e2e-${t.format}-${shards}shards-run${run + 1}.cpuprofile`]
          : [];
        const r = await runChild(task(s, t, 'service', shards), nodeArgs);
        checkService(t, r, where);
        if (r.doneMs < 20_000) shortRuns++;
        const key = `${t.format}/${shards}`;
        e2eSamples.set(key, [...(e2eSamples.get(key) ?? []), r]);
        log(
          `  e2e: ${where}: ${fmtRate(t.expected.events / (r.doneMs / 1000))} events/s from start ` +
            `(${(r.doneMs / 1000).toFixed(1)} s, start-up ${(r.firstRecordMs / 1000).toFixed(1)} s), ` +
            `p99 latency ${r.latencyMs!.length > 0 ? percentile(r.latencyMs!, 99).toFixed(0) : '-'} ms, peak RSS ${(r.rssPeakBytes / 2 ** 20).toFixed(0)} MiB, ` +
            `${fmt(r.rowsOut!)} rows verified`,
        );
      }
    }
  }
  const e2e: E2eFigure[] = [];
  const ceiling: CeilingFigure[] = [];
  for (const t of data.topics) {
    const events = t.expected.events;
    const c = ceilingSamples.get(t.format);
    if (c) {
      ceiling.push({
        format: t.format,
        eventsPerS: summarize(c.map((r) => events / (r.doneMs / 1000))),
        streamEventsPerS: summarize(c.map((r) => events / ((r.doneMs - r.firstRecordMs) / 1000))),
        recordsPerS: summarize(c.map((r) => t.expected.records / ((r.doneMs - r.firstRecordMs) / 1000))),
        startupS: summarize(c.map((r) => r.firstRecordMs / 1000)),
      });
    }
    for (const shards of s.shardCounts) {
      const rs = e2eSamples.get(`${t.format}/${shards}`);
      if (!rs) continue;
      const lat = (f: (l: number[]) => number) => rs.map((r) => (r.latencyMs!.length > 0 ? f(r.latencyMs!) : 0));
      e2e.push({
        format: t.format,
        shards,
        eventsPerS: summarize(rs.map((r) => events / (r.doneMs / 1000))),
        streamEventsPerS: summarize(rs.map((r) => events / ((r.doneMs - r.firstRecordMs) / 1000))),
        startupS: summarize(rs.map((r) => r.firstRecordMs / 1000)),
        latencyP50Ms: summarize(lat((l) => percentile(l, 50))),
        latencyP99Ms: summarize(lat((l) => percentile(l, 99))),
        peakRssMiB: summarize(rs.map((r) => r.rssPeakBytes / 2 ** 20)),
        runSeconds: summarize(rs.map((r) => r.doneMs / 1000)).median,
      });
    }
  }
  const { brokers: _brokers, ...settings } = s;
  return {
    settings,
    topics: data.topics.map((t) => ({
      format: t.format,
      records: t.expected.records,
      events: t.expected.events,
      bytes: t.bytes,
      rows: t.expected.rows,
      windowEnds: t.expected.windowEnds,
      produceSeconds: t.produceSeconds,
    })),
    e2e,
    ceiling,
    shortRuns,
  };
}

const ms = (n: number) => n.toFixed(0);
const mib = (n: number) => n.toFixed(0);
const sec = (n: number) => n.toFixed(1);

export function e2eTable(r: E2eResult, quickNote: string | undefined): Table {
  const ceilingOf = (f: Format) => r.ceiling.find((c) => c.format === f);
  return {
    title: 'end to end through the real broker (SaferoadsService, verified output)',
    header: ['input', 'shards', 'events/s from start', 'events/s after 1st record', 'share of ceiling', 'start-up s', 'latency p50 ms', 'latency p99 ms', 'peak RSS MiB', 'runs'],
    rows: r.e2e.map((f) => {
      const c = ceilingOf(f.format);
      return [
        f.format,
        String(f.shards),
        fmtSummary(f.eventsPerS),
        fmtSummary(f.streamEventsPerS),
        c ? `${((100 * f.streamEventsPerS.median) / c.streamEventsPerS.median).toFixed(0)} %` : '-',
        fmtSummary(f.startupS, sec),
        fmtSummary(f.latencyP50Ms, ms),
        fmtSummary(f.latencyP99Ms, ms),
        fmtSummary(f.peakRssMiB, mib),
        String(f.eventsPerS.n),
      ];
    }),
    notes: [
      ...r.topics.map(
        (t) =>
          `${t.format}: ${fmt(t.events)} events in ${fmt(t.records)} records (${(t.bytes / 2 ** 20).toFixed(0)} MiB), ${fmt(t.windowEnds)} window ends × ` +
          `${fmt(r.settings.points)} points = ${fmt(t.rows)} rows; every run's rowsOut and dead letters checked.`,
      ),
      '"from start": SaferoadsService.start() until the last window end is acknowledged and the service is idle (connect, weather, group join included);',
      '"after 1st record": from the first car record routed (steady state; what "share of ceiling" compares). Latency: watermark passing a window end → its rows acknowledged by Kafka.',
      'Peak RSS: the run\'s process (host thread + shard worker threads + kafkajs), sampled every 50 ms.',
      ...(quickNote ? [quickNote] : []),
      ...(r.shortRuns > 0 ? [`${r.shortRuns} run(s) took under 20 s: raise --events for steadier figures.`] : []),
    ],
  };
}

export function ceilingTable(r: E2eResult): Table {
  return {
    title: 'ceiling: consume-only through the adapter (KafkaClient.read, no decoding)',
    header: ['input', 'events/s after 1st record', 'records/s', 'events/s from start', 'start-up s', 'runs'],
    rows: r.ceiling.map((c) => [
      c.format,
      fmtSummary(c.streamEventsPerS),
      fmtRate(c.recordsPerS.median),
      fmtSummary(c.eventsPerS),
      fmtSummary(c.startupS, sec),
      String(c.eventsPerS.n),
    ]),
    notes: ['FlatBuffers: events = records × events per message. The same topics as the e2e runs; one process per run.'],
  };
}
