/**
 * Suite "shards": the host stage and the sharded WASM kernels without Kafka. Admission, ShardPool,
 * OffsetTracker and Dispatcher are wired as SaferoadsService wires them; the input is the
 * bench dataset as kafkajs would deliver it (per partition, ~1 MiB batches of IncomingRecords, fed
 * round-robin over the partitions); every Flush's results are awaited in order like
 * the publisher, the join and score included (the shards build each row's record) —
 * only the Kafka produce is left out. A parked partition (watermark alignment) is not fed until its
 * shard unparks it, as the service pauses its fetch.
 */
import { availableParallelism } from 'node:os';
import { Admission, type PartitionStart } from '../../src/pipeline/admission.js';
import type { DeadLetter } from '../../src/pipeline/dead-letter.js';
import { Dispatcher, type Flush } from '../../src/pipeline/dispatcher.js';
import { shardJoin } from '../../src/pipeline/output.js';
import { KEY_F64, KEY_POINT } from '../../src/pipeline/shard-protocol.js';
import { ShardPool } from '../../src/pipeline/shard-pool.js';
import { OffsetTracker } from '../../src/service/offsets.js';
import { prepareService } from '../../src/service/service.js';
import { type Dataset, type Format, GRACE_S, type IncomingData, incomingDataset, makeDataset, PARTITIONS, partitionOfPoint } from '../lib/dataset.js';
import { fmt, fmtRate, fmtSummary, summarize, type Summary } from '../lib/stats.js';
import type { Table } from '../lib/table.js';

export interface ShardsSettings {
  events: number;
  points: number;
  runs: number;
  shardCounts: number[];
  formats: Format[];
}

export interface ShardsFigure {
  format: Format;
  shards: number;
  eventsPerS: Summary;
  rowsPerS: Summary;
}

export interface ShardsResult {
  settings: ShardsSettings;
  events: number;
  records: Record<Format, number>;
  rows: number;
  windowEnds: number;
  figures: ShardsFigure[];
}

export function shardCountsUpTo(max = availableParallelism()): number[] {
  return Array.from({ length: Math.max(1, max) }, (_, i) => i + 1);
}

interface RunOutcome {
  seconds: number;
  rows: number;
}

async function runOnce(d: Dataset, data: IncomingData, shards: number): Promise<RunOutcome> {
  const { spec, points, model, calendar } = prepareService({ pointsPath: d.pointsPath, windows: { graceS: GRACE_S }, log: () => undefined });
  const nowS = Date.now() / 1000;
  const pool = new ShardPool(shards);
  try {
    const n = points.points.length;
    // Each point's records are on the partition its key goes to (as with the default partitioner).
    const keyPartition = Int32Array.from(points.points, (p) => partitionOfPoint(p.pointId));
    await pool.init(
      { spec: { ...spec }, pointCapacity: Math.max(n, 1), partitions: PARTITIONS, startWallClockS: nowS, keyPartition, join: shardJoin(points, model, calendar) },
      points.points.map((p) => ({ index: p.index, pointId: p.pointId, allowedSpeedKmh: p.allowedSpeedKmh, station: p.station })),
    );
    const all = Array.from({ length: PARTITIONS }, (_, p) => p);
    const admission = new Admission(spec, PARTITIONS, nowS, (i) => i >= 0 && i < n);
    const offsets = new OffsetTracker(PARTITIONS, spec.ringPanes + 2);
    const shardOfPartition = ShardPool.partitionShards(all, PARTITIONS, shards);
    const learned = new SharedArrayBuffer(4 * Math.max(n, 1));
    new Int32Array(learned).fill(-1);
    const start: PartitionStart = { resumed: false, publishedThrough: -Infinity, maxEventTime: -Infinity, caughtUp: false };
    await pool.assign(shardOfPartition, learned, all.map((slot) => ({ slot, ...start, readFrom: 0, replayUntil: 0 })), nowS);
    admission.setAssigned(all, new Map(all.map((p) => [p, start])), nowS);
    await pool.broadcastWeather(d.weather);

    let rows = 0;
    let bytesOut = 0;
    let lastEnd = NaN;
    let firstEnd = NaN;
    const dead: DeadLetter[] = [];
    let failure: unknown;
    let chain = Promise.resolve();
    // As the publisher: one row per point and window end, from the shard that reads its partition.
    const drain = async (flushes: Flush[]) => {
      for (const flush of flushes) {
        const results = await Promise.all(flush.results);
        results.forEach((result, shard) => {
          for (let row = 0; row < result.rowCount; row++) {
            const point = result.keys[row * KEY_F64 + KEY_POINT];
            if (shardOfPartition[keyPartition[point]] !== shard) continue;
            bytesOut += result.values[row].length;
            rows++;
          }
        });
        for (const end of flush.finalEnds) {
          if (!(end <= lastEnd)) lastEnd = end;
          if (!(end >= firstEnd)) firstEnd = end;
        }
      }
    };
    const parked = new Array<boolean>(PARTITIONS).fill(false);
    const dispatcher = new Dispatcher(admission, pool, offsets, shardOfPartition, {
      output: (flushes, d) => {
        dead.push(...d);
        chain = chain.then(() => drain(flushes));
      },
      hold: (slot, isHeld) => (parked[slot] = isHeld),
      learned: () => undefined,
      failed: (error) => (failure ??= error),
    });
    const next = new Array<number>(PARTITIONS).fill(0);

    const began = performance.now();
    let p = 0;
    for (;;) {
      let fed = false;
      for (let k = 0; k < PARTITIONS && !fed; k++, p = (p + 1) % PARTITIONS) {
        if (parked[p] || next[p] >= data.batches[p].length) continue;
        dispatcher.send(data.batches[p][next[p]++], p, Date.now() / 1000);
        await dispatcher.room(p);
        fed = true;
      }
      if (failure !== undefined) throw failure;
      if (fed) continue;
      await dispatcher.drained();
      if (next.every((x, q) => x >= data.batches[q].length)) break;
      // Every partition with input left is parked: let the wall clock move (idle partitions).
      dispatcher.tick(Date.now() / 1000);
      await dispatcher.drained();
      if (parked.every((x, q) => x || next[q] >= data.batches[q].length)) throw new Error('shards suite: every partition with input left is parked');
    }
    await dispatcher.drained();
    await chain;
    const seconds = (performance.now() - began) / 1000;
    const want = data.expected;
    if (failure !== undefined) throw failure;
    if (dead.length > 0) throw new Error(`shards suite: ${dead.length} dead letters (first: ${dead[0].reason} ${dead[0].detail})`);
    if (rows !== want.rows || lastEnd !== want.lastEnd || firstEnd !== want.firstEnd) {
      throw new Error(
        `shards suite: ${rows} rows for ends ${firstEnd}..${lastEnd}, expected ${want.rows} rows for ends ${want.firstEnd}..${want.lastEnd} ` +
          `(${want.windowEnds} ends × ${n} points)`,
      );
    }
    if (bytesOut === 0) throw new Error('shards suite: no output');
    return { seconds, rows };
  } finally {
    await pool.close();
  }
}

export async function runShardsSuite(settings: ShardsSettings, log: (line: string) => void): Promise<ShardsResult> {
  const d = makeDataset({ events: settings.events, points: settings.points });
  const data = {} as Record<Format, IncomingData>;
  for (const format of settings.formats) data[format] = await incomingDataset(d, format);
  const samples = new Map<string, { events: number[]; rows: number[] }>();
  const first = data[settings.formats[0]].expected;
  // Runs interleave the configurations, so a slow spell of a noisy machine hits them all alike.
  for (let run = 0; run < settings.runs; run++) {
    for (const format of settings.formats) {
      for (const shards of settings.shardCounts) {
        const out = await runOnce(d, data[format], shards);
        const key = `${format}/${shards}`;
        const s = samples.get(key) ?? { events: [], rows: [] };
        s.events.push(data[format].expected.events / out.seconds);
        s.rows.push(out.rows / out.seconds);
        samples.set(key, s);
        log(`  shards: run ${run + 1}/${settings.runs} ${format} ${shards} shard(s): ${fmtRate(data[format].expected.events / out.seconds)} events/s`);
      }
    }
  }
  const figures: ShardsFigure[] = [];
  for (const format of settings.formats) {
    for (const shards of settings.shardCounts) {
      const s = samples.get(`${format}/${shards}`)!;
      figures.push({ format, shards, eventsPerS: summarize(s.events), rowsPerS: summarize(s.rows) });
    }
  }
  return {
    settings,
    events: first.events,
    records: Object.fromEntries(settings.formats.map((f) => [f, data[f].expected.records])) as Record<Format, number>,
    rows: first.rows,
    windowEnds: first.windowEnds,
    figures,
  };
}

export function shardsTable(r: ShardsResult): Table {
  return {
    title: 'shards in process (no Kafka): host stage + sharded WASM kernels + join',
    header: ['input', 'shards', 'events/s median (min–max)', 'rows/s median', 'runs'],
    rows: r.figures.map((f) => [f.format, String(f.shards), fmtSummary(f.eventsPerS), fmtRate(f.rowsPerS.median), String(f.eventsPerS.n)]),
    notes: [
      `${fmt(r.events)} events over ${fmt(r.settings.points)} points (${Object.entries(r.records).map(([f, n]) => `${fmt(n)} ${f} records`).join(', ')}), ` +
        `${fmt(r.windowEnds)} window ends = ${fmt(r.rows)} rows per run, each checked.`,
      'Decode + admission + routing + shard kernels (worker threads) + join/score + JSON.stringify of every row; no Kafka.',
    ],
  };
}
