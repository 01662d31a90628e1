/**
 * Suite "batch": FlatBuffers events per message varied (1, 10, 100, 1000 by default) over the same
 * loop events (the generator's plausible traffic: only the grouping into messages changes). Each
 * size gets its own car topic (messages of one partition's events, several points each, key null,
 * produced one chunk at a time in order); every run is a child process as in the e2e suite: the
 * consume-only ceiling (KafkaClient.read) and the engine end to end with 1 shard, its output
 * verified (rows = window ends × points, no dead letters) before any figure is kept.
 */
import { randomUUID } from 'node:crypto';
import { KafkaClient } from '../../src/kafka/client.js';
import { makeDataset, PARTITIONS } from '../lib/dataset.js';
import { fmt, fmtRate, fmtSummary, summarize, type Summary } from '../lib/stats.js';
import type { Table } from '../lib/table.js';
import type { ChildResult } from './broker-child.js';
import { checkService, produceDataset, produceWeather, type PreparedTopic, runChild, task } from './e2e.js';

export interface BatchSettings {
  brokers: string[];
  events: number;
  points: number;
  /** Events per FlatBuffers message. */
  sizes: number[];
  runs: number;
  shards: number;
  stallMs: number;
}

export interface BatchFigure {
  eventsPerMessage: number;
  records: number;
  bytes: number;
  /** Consume-only (KafkaClient.consume, a fresh group), events/s from the group join. */
  ceilingEventsPerS: Summary;
  ceilingRecordsPerS: Summary;
  /** Engine end to end, events/s after the first record (steady state) and from start. */
  e2eEventsPerS: Summary;
  e2eFromStartEventsPerS: Summary;
  e2eRecordsPerS: Summary;
  rows: number;
  windowEnds: number;
}

export interface BatchResult {
  settings: Omit<BatchSettings, 'brokers'>;
  figures: BatchFigure[];
}

const streamRate = (n: number, r: ChildResult) => n / ((r.doneMs - r.firstRecordMs) / 1000);
const joinedRate = (n: number, r: ChildResult) => n / ((r.doneMs - r.joinedMs!) / 1000);

export async function runBatchSuite(s: BatchSettings, log: (line: string) => void): Promise<BatchResult> {
  const id = `saferoads-bench-batch-${randomUUID().slice(0, 8)}`;
  const client = new KafkaClient({ brokers: s.brokers, clientId: 'saferoads-bench-producer' });
  const dataset = makeDataset({ events: s.events, points: s.points });
  const weatherTopic = `${id}-weather`;
  const topics: PreparedTopic[] = [];
  try {
    await client.ensureTopics([{ topic: weatherTopic, partitions: 1 }, ...s.sizes.map((n) => ({ topic: `${id}-car-${n}`, partitions: PARTITIONS }))]);
    const producer = await client.producer();
    try {
      await produceWeather(producer, weatherTopic, dataset);
      for (const n of s.sizes) {
        const topic = `${id}-car-${n}`;
        const { expected, produceSeconds, bytes } = await produceDataset(client, producer, topic, dataset, 'flatbuffers', log, n);
        topics.push({ format: 'flatbuffers', dataset, topic, weatherTopic, expected, produceSeconds, bytes });
      }
    } finally {
      await producer.close();
    }
  } finally {
    await client.close();
  }
  const ceiling = new Map<number, ChildResult[]>();
  const e2e = new Map<number, ChildResult[]>();
  for (let run = 0; run < s.runs; run++) {
    for (const [i, t] of topics.entries()) {
      const n = s.sizes[i];
      // Timed from the group join: a first fetch of 1 MiB per partition holds most of a small topic.
      const c = await runChild({ ...task(s, t, 'consume', 0), group: true }, []);
      if (c.joinedMs === undefined) throw new Error('batch: the consumer never reported joining its group');
      ceiling.set(n, [...(ceiling.get(n) ?? []), c]);
      const where = `${n} events/message, ${s.shards} shard(s), run ${run + 1}`;
      const r = await runChild(task(s, t, 'service', s.shards), []);
      checkService(t, r, where);
      e2e.set(n, [...(e2e.get(n) ?? []), r]);
      log(
        `  batch: ${where}: ceiling ${fmtRate(joinedRate(t.expected.events, c))} events/s, engine ${fmtRate(streamRate(t.expected.events, r))} events/s ` +
          `after the 1st record, ${fmt(r.rowsOut!)} rows verified`,
      );
    }
  }
  const figures = topics.map((t, i): BatchFigure => {
    const n = s.sizes[i];
    const cs = ceiling.get(n)!;
    const rs = e2e.get(n)!;
    const { events, records } = t.expected;
    return {
      eventsPerMessage: n,
      records,
      bytes: t.bytes,
      ceilingEventsPerS: summarize(cs.map((r) => joinedRate(events, r))),
      ceilingRecordsPerS: summarize(cs.map((r) => joinedRate(records, r))),
      e2eEventsPerS: summarize(rs.map((r) => streamRate(events, r))),
      e2eFromStartEventsPerS: summarize(rs.map((r) => events / (r.doneMs / 1000))),
      e2eRecordsPerS: summarize(rs.map((r) => streamRate(records, r))),
      rows: t.expected.rows,
      windowEnds: t.expected.windowEnds,
    };
  });
  const { brokers: _b, ...settings } = s;
  return { settings, figures };
}

export function batchTable(r: BatchResult, natural?: { eventsPerS: number; perMessage: number }): Table {
  const us = (recordsPerS: number) => (1e6 / recordsPerS).toFixed(2);
  const first = r.figures[0];
  return {
    title: `FlatBuffers events per message: consume-only ceiling vs engine end to end (${r.settings.shards} shard, verified output)`,
    header: ['events/msg', 'records', 'ceiling events/s', 'ceiling µs/msg', 'engine events/s', 'engine records/s', 'engine µs/msg', 'engine ÷ ceiling', 'engine from start', 'runs'],
    rows: r.figures.map((f) => [
      fmt(f.eventsPerMessage),
      fmt(f.records),
      fmtSummary(f.ceilingEventsPerS),
      us(f.ceilingRecordsPerS.median),
      fmtSummary(f.e2eEventsPerS),
      fmtRate(f.e2eRecordsPerS.median),
      us(f.e2eRecordsPerS.median),
      (f.e2eEventsPerS.median / f.ceilingEventsPerS.median).toFixed(2),
      fmtRate(f.e2eFromStartEventsPerS.median),
      String(f.e2eEventsPerS.n),
    ]),
    notes: [
      `The same ${fmt(r.settings.events)} loop events (${fmt(r.settings.points)} points, the generator's traffic) in every row; only the grouping differs: ` +
        `messages of exactly N events of one partition (several points, key null), the last of each partition shorter.`,
      'Ceiling: KafkaClient.consume of a fresh group, from its group join to the last record (the first 1 MiB-per-partition fetch counted). Engine: from the first record routed to the last window end (steady state, as the e2e table).',
      'µs/msg: wall time per message at that rate (1e6 ÷ records/s). Where events/s still grows with N, per-message cost dominates; where it stays flat, per-event cost does.',
      `Every engine run's rowsOut (${first ? `${fmt(first.windowEnds)} window ends × points = ${fmt(first.rows)}` : 'window ends × points'}) and dead letters checked.`,
      ...(natural ? [`For reference, the e2e suite's FlatBuffers (per point, 5 s chunks, ${natural.perMessage.toFixed(1)} events/msg): ${fmtRate(natural.eventsPerS)} events/s, 1 shard.`] : []),
    ],
  };
}
