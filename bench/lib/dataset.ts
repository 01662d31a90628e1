/**
 * The bench's input: generated road points, loop events and weather (src/generate), encoded the way
 * Kafka delivers them — seed JSON, one event per message, or FlatBuffers LoopEventBatch messages of
 * ONE point each, chunked like `saferoads generate --format flatbuffers` (a chunk closes after 5 s
 * of event time or when one point has 500 events in it) — with each point's events on partition
 * (murmur2 of its point_id, as the Java client's default partitioner), so the expected output is known exactly. FlatBuffers can also be
 * grouped by a fixed number of events per message (encodeDataset's eventsPerMessage: one partition's
 * events, of several points), for the events-per-message sweep.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSeedEvents } from '../../src/codec/loop-event-batch.js';
import { seedEventJson, type SeedLoopEvent } from '../../src/codec/seed-json.js';
import { keyPartition } from '../../src/kafka/client.js';
import { generateRoadPoints, roadPointsCsv, stationsOf, type GeneratedRoadPoint } from '../../src/generate/points.js';
import { generateTraffic } from '../../src/generate/traffic.js';
import { generateWeather } from '../../src/generate/weather.js';
import type { WeatherReading } from '../../src/join/types.js';
import type { IncomingRecord, OutgoingRecord } from '../../src/kafka/client.js';

export const PARTITIONS = 6;

/**
 * The partition of a point's records: where the Java/kafkajs default partitioner (murmur2) puts its
 * key, as the service's default --partitioner expects — so each point lives on the shard that reads
 * that partition and no row is computed twice.
 */
export function partitionOfPoint(pointId: string): number {
  return keyPartition(pointId, PARTITIONS);
}
export const GRACE_S = 30;
export const ADVANCE_S = 60;
/**
 * Vehicles per second per point (1,440 veh/h): a little under the typical traffic of the generated
 * points (1–3 lanes, ~0.49/s per point averaged over a weekday; src/generate/lanes.ts), far from
 * what their lanes carry. The daily profile is off (the bench's time range follows the wall
 * clock), so this is the rate at every hour and about `events / rate` is the event time needed.
 */
export const RATE_PER_POINT = 0.4;
/** Like `saferoads generate`: chunk span (s of event time) and largest FlatBuffers message (events). */
export const FB_CHUNK_S = 5;
export const FB_MAX_EVENTS = 500;

export type Format = 'json' | 'flatbuffers';

export interface DatasetSpec {
  /** Loop events in total. */
  events: number;
  points: number;
  seed?: number;
}

export interface Dataset {
  spec: Required<DatasetSpec>;
  points: GeneratedRoadPoint[];
  pointsPath: string;
  ratePerSecond: number;
  startS: number;
  durationS: number;
  weather: WeatherReading[];
}

/** Points, weather and the time range; events are generated on demand (forEachChunk). */
export function makeDataset(spec: DatasetSpec): Dataset {
  const full = { seed: 7, ...spec };
  const points = generateRoadPoints(full.points, full.seed);
  const dir = mkdtempSync(join(tmpdir(), 'saferoads-bench-'));
  const pointsPath = join(dir, 'points.csv');
  writeFileSync(pointsPath, roadPointsCsv(points));
  const ratePerSecond = full.points * RATE_PER_POINT;
  // Enough event time for `events`, then cut: the generator is Poisson-like, and snow and incidents
  // take some traffic away.
  const durationS = Math.ceil((full.events / ratePerSecond) * 1.25) + 60;
  // Well in the past: the skew check (TOO_FAR_AHEAD) compares event time with the wall clock.
  const startS = Math.floor(Date.now() / 60_000) * 60 - Math.ceil((durationS + 1800) / 60) * 60;
  const weather = [
    ...generateWeather({ stations: stationsOf(points), startS: startS - 120, durationS: durationS + 240, intervalS: 90, seed: full.seed }),
  ];
  return { spec: full, points, pointsPath, ratePerSecond, startS, durationS, weather };
}

/** Exactly `spec.events` events in event-time order. */
export function* datasetEvents(d: Dataset): Generator<SeedLoopEvent> {
  let n = 0;
  if (d.spec.events <= 0) return;
  for (const e of generateTraffic({
    points: d.points,
    ratePerSecond: d.ratePerSecond,
    durationS: d.durationS,
    startS: d.startS,
    seed: d.spec.seed,
    dailyProfile: false,
  })) {
    yield e;
    if (++n >= d.spec.events) return;
  }
  throw new Error(`the generator gave only ${n} of ${d.spec.events} events`);
}

/** What a run must produce for a dataset: the last window end and the row count. */
export interface Expected {
  events: number;
  records: number;
  /** Per partition: records and the largest event time. */
  partitionRecords: number[];
  partitionMaxS: number[];
  firstEnd: number;
  lastEnd: number;
  windowEnds: number;
  rows: number;
}

export class ExpectationBuilder {
  private readonly max = new Array<number>(PARTITIONS).fill(-Infinity);
  private readonly records = new Array<number>(PARTITIONS).fill(0);
  private events = 0;

  constructor(private readonly d: Dataset) {}

  event(partition: number, t: number): void {
    this.events++;
    if (t > this.max[partition]) this.max[partition] = t;
  }

  record(partition: number): void {
    this.records[partition]++;
  }

  /** W = min over partitions of (max event time − grace); rows for every end from the start to W. */
  build(): Expected {
    const lastEnd = Math.floor((Math.min(...this.max) - GRACE_S) / ADVANCE_S) * ADVANCE_S;
    const firstEnd = this.d.startS;
    const windowEnds = (lastEnd - firstEnd) / ADVANCE_S + 1;
    return {
      events: this.events,
      records: this.records.reduce((a, b) => a + b, 0),
      partitionRecords: [...this.records],
      partitionMaxS: [...this.max],
      firstEnd,
      lastEnd,
      windowEnds,
      rows: windowEnds * this.d.points.length,
    };
  }
}

export interface EncodedChunk {
  records: OutgoingRecord[];
  events: number;
}

/**
 * Encodes the dataset chunk by chunk (never all of it in memory): `onChunk` gets each chunk's
 * records (key = point_id, explicit partition = partitionOfPoint(point_id)).
 */
export async function encodeDataset(
  d: Dataset,
  format: Format,
  onChunk: (chunk: EncodedChunk) => Promise<void> | void,
  jsonChunk = 5000,
  eventsPerMessage?: number,
): Promise<Expected> {
  if (eventsPerMessage !== undefined) {
    if (format !== 'flatbuffers') throw new RangeError('eventsPerMessage applies to FlatBuffers only');
    return encodeFixedMessages(d, eventsPerMessage, onChunk, jsonChunk);
  }
  const indexOf = new Map(d.points.map((p) => [p.pointId, p.index]));
  const expect = new ExpectationBuilder(d);
  let chunk: SeedLoopEvent[] = [];
  let chunkStart = NaN;
  const perPoint = new Map<string, number>();
  let fullest = 0;
  const emit = async () => {
    if (chunk.length === 0) return;
    const records: OutgoingRecord[] = [];
    if (format === 'json') {
      for (const e of chunk) {
        const partition = partitionOfPoint(e.point_id);
        records.push({ key: e.point_id, value: seedEventJson(e), partition });
        expect.record(partition);
      }
    } else {
      const byPoint = new Map<string, SeedLoopEvent[]>();
      for (const e of chunk) {
        const list = byPoint.get(e.point_id);
        if (list) list.push(e);
        else byPoint.set(e.point_id, [e]);
      }
      for (const [pointId, list] of byPoint) {
        const partition = partitionOfPoint(pointId);
        records.push({ key: pointId, value: Buffer.from(encodeOnePoint(pointId, list)), partition });
        expect.record(partition);
      }
    }
    const events = chunk.length;
    chunk = [];
    perPoint.clear();
    fullest = 0;
    await onChunk({ records, events });
  };
  for (const e of datasetEvents(d)) {
    const t = e.timestamp_out_2;
    const full = format === 'json' ? chunk.length >= jsonChunk : fullest >= FB_MAX_EVENTS || t - chunkStart >= FB_CHUNK_S;
    if (chunk.length > 0 && full) await emit();
    if (chunk.length === 0) chunkStart = t;
    chunk.push(e);
    expect.event(partitionOfPoint(e.point_id), t);
    if (format === 'flatbuffers') {
      const n = (perPoint.get(e.point_id) ?? 0) + 1;
      perPoint.set(e.point_id, n);
      if (n > fullest) fullest = n;
    }
  }
  await emit();
  return expect.build();
}

/**
 * FlatBuffers LoopEventBatch messages of exactly `perMessage` events each (the last of each
 * partition may hold fewer): a partition's events in event-time order, of as many points as fall
 * in (key null, explicit partition), so only the grouping differs from the per-point messages.
 * Records go to `onChunk` in order, `chunkRecords` at a time (a message closes on its count, so it
 * may span more event time than the grace: a partition's messages must stay in order).
 */
async function encodeFixedMessages(
  d: Dataset,
  perMessage: number,
  onChunk: (chunk: EncodedChunk) => Promise<void> | void,
  chunkRecords: number,
): Promise<Expected> {
  if (!Number.isInteger(perMessage) || perMessage < 1) throw new RangeError(`eventsPerMessage must be a positive integer (got ${perMessage})`);
  const indexOf = new Map(d.points.map((p) => [p.pointId, p.index]));
  const expect = new ExpectationBuilder(d);
  const open: SeedLoopEvent[][] = Array.from({ length: PARTITIONS }, () => []);
  let records: OutgoingRecord[] = [];
  let events = 0;
  let bytes = 0;
  const close = (p: number) => {
    const list = open[p];
    if (list.length === 0) return;
    const ids = [...new Set(list.map((e) => e.point_id))];
    const value = Buffer.from(encodeSeedEvents(ids, list));
    records.push({ key: null, value, partition: p });
    bytes += value.length;
    events += list.length;
    expect.record(p);
    open[p] = [];
  };
  const emit = async () => {
    if (records.length === 0) return;
    const chunk = { records, events };
    records = [];
    events = 0;
    bytes = 0;
    await onChunk(chunk);
  };
  for (const e of datasetEvents(d)) {
    const p = partitionOfPoint(e.point_id);
    open[p].push(e);
    expect.event(p, e.timestamp_out_2);
    if (open[p].length >= perMessage) close(p);
    // Chunks of about 1 MiB at most (a produce request's size), or `chunkRecords` records.
    if (records.length >= chunkRecords || bytes >= 1 << 20) await emit();
  }
  for (let p = 0; p < PARTITIONS; p++) close(p);
  await emit();
  return expect.build();
}

/** One LoopEventBatch with a single point_id. */
export function encodeOnePoint(pointId: string, list: readonly SeedLoopEvent[]): Uint8Array {
  return encodeSeedEvents([pointId], list);
}

/** The dataset as kafkajs would deliver it: per partition, batches of about `batchBytes` (fetch size). */
export interface IncomingData {
  batches: IncomingRecord[][][];
  expected: Expected;
}

export async function incomingDataset(d: Dataset, format: Format, batchBytes = 1 << 20): Promise<IncomingData> {
  const batches: IncomingRecord[][][] = Array.from({ length: PARTITIONS }, () => []);
  const open: IncomingRecord[][] = Array.from({ length: PARTITIONS }, () => []);
  const bytes = new Array<number>(PARTITIONS).fill(0);
  const offsets = new Array<number>(PARTITIONS).fill(0);
  const expected = await encodeDataset(d, format, ({ records }) => {
    for (const r of records) {
      const p = r.partition!;
      const value = typeof r.value === 'string' ? Buffer.from(r.value) : r.value!;
      open[p].push({
        topic: 'bench-car',
        partition: p,
        offset: BigInt(offsets[p]++),
        key: Buffer.from(String(r.key)),
        value,
        headers: {},
        timestampMs: 0,
      });
      bytes[p] += value.length;
      if (bytes[p] >= batchBytes) {
        batches[p].push(open[p]);
        open[p] = [];
        bytes[p] = 0;
      }
    }
  });
  for (let p = 0; p < PARTITIONS; p++) if (open[p].length > 0) batches[p].push(open[p]);
  return { batches, expected };
}
