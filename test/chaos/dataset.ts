/**
 * The fault suite's deterministic input: road points, loop events and weather, all from one seed.
 *
 * Determinism across runs that are interrupted at different moments rests on one property: every
 * partition of the car topic starts with an event at the same time T_start and ends with one at the
 * same time T_end (one "anchor" point per partition gets a vehicle at each), and every other event
 * lies strictly between. The stream watermark (min over partitions of max event time − grace)
 * therefore starts at T_start − grace and ends at T_end − grace whatever was read first or re-read:
 * the first and last window ends, and so the set of (point, window end) rows, are fixed by the data.
 */
import { seedEventJson, type SeedLoopEvent } from '../../src/codec/seed-json.js';
import { generateRoadPoints, roadPointsCsv, stationsOf, type GeneratedRoadPoint } from '../../src/generate/points.js';
import { mulberry32 } from '../../src/generate/prng.js';
import { generateTraffic } from '../../src/generate/traffic.js';
import { generateWeather, weatherJson } from '../../src/generate/weather.js';
import type { WeatherReading } from '../../src/join/types.js';
import { keyPartition } from '../../src/kafka/client.js';

/** Window settings the suite runs the service with (passed as flags, so defaults may change freely). */
export const ADVANCE_S = 60;
export const GRACE_S = 30;

export interface ChaosDatasetOptions {
  /** Road points (every partition must own at least one: checked). */
  points: number;
  /** Partitions of the car (and output) topic. */
  partitions: number;
  /** Event time covered, minutes: T_end = T_start + minutes × 60. */
  minutes: number;
  /**
   * Generated vehicles per second of event time over all points (at most what their lanes carry:
   * rateLimits; the daily profile is off, so this is the rate at every hour).
   */
  ratePerSecond: number;
  seed: number;
}

/** One input record: its event time, key, value and the partition the default partitioner gives it. */
export interface TimedRecord {
  /** Event time (timestamp_out_2) of the record, epoch seconds: the producer's pacing clock. */
  t: number;
  key: string;
  value: string | Buffer;
  partition: number;
}

export interface ChaosDataset {
  options: ChaosDatasetOptions;
  points: GeneratedRoadPoint[];
  /** The road-points CSV the service is given (each run writes it into its own folder). */
  pointsCsv: string;
  partitions: number;
  tStart: number;
  tEnd: number;
  /** Per partition, the point whose anchor events open and close it. */
  anchors: string[];
  /** The loop events, anchors included, in event-time order. */
  events: SeedLoopEvent[];
  /** The car topic's records (seed JSON keyed by point_id), in the order they are produced. */
  records: TimedRecord[];
  weather: WeatherReading[];
  /** First and last window end every run must publish. */
  firstEnd: number;
  lastEnd: number;
  /** Every (point, window end) a complete run publishes, as rowKey(). */
  expectedKeys: ReadonlySet<string>;
}

/** The identity of an output row: point and window end. */
export function rowKey(pointId: string, windowEnd: number): string {
  return `${pointId}@${windowEnd}`;
}

/**
 * A vehicle at `t` (its time at the second loop's exit), lane 1, 72 km/h, a car of 4.5 m: valid by
 * every check of the kernel contract, with the generator's loop geometry.
 */
export function anchorEvent(pointId: string, t: number): SeedLoopEvent {
  return {
    lane: 1,
    timestamp_in_1: t - 1.3,
    timestamp_out_1: t - 1.0,
    timestamp_in_2: t - 0.3,
    timestamp_out_2: t,
    speed: 72,
    gap_meters: 40,
    gap_seconds: 2,
    length: 4.5,
    point_id: pointId,
  };
}

/**
 * Builds the dataset: points (and their CSV), traffic strictly inside
 * (T_start, T_end) plus the anchors, weather readings covering the whole span. T_end lies `minutes`
 * + 30 minutes before now, so the service's skew check (events ahead of the wall clock) never fires.
 */
export function chaosDataset(options: ChaosDatasetOptions, nowMs = Date.now()): ChaosDataset {
  const { partitions, minutes, seed } = options;
  const points = generateRoadPoints(options.points, seed);
  const owners = Array.from({ length: partitions }, (): GeneratedRoadPoint[] => []);
  for (const p of points) owners[keyPartition(p.pointId, partitions)]!.push(p);
  const empty = owners.findIndex((list) => list.length === 0);
  if (empty >= 0) {
    throw new Error(`chaosDataset: no point of ${options.points} hashes to partition ${empty} of ${partitions}: use more points`);
  }
  const anchors = owners.map((list) => list[0]!.pointId);

  const tStart = Math.floor(nowMs / 60_000) * 60 - (2 * minutes + 30) * 60;
  const tEnd = tStart + minutes * 60;
  const traffic = [...generateTraffic({ points, ratePerSecond: options.ratePerSecond, durationS: minutes * 60, startS: tStart, seed, dailyProfile: false })].filter(
    (e) => e.timestamp_out_2 > tStart && e.timestamp_out_2 < tEnd,
  );
  const events = [...anchors.map((id) => anchorEvent(id, tStart)), ...traffic, ...anchors.map((id) => anchorEvent(id, tEnd))];
  const records = events.map((e) => ({ t: e.timestamp_out_2, key: e.point_id, value: seedEventJson(e), partition: keyPartition(e.point_id, partitions) }));

  // Readings from before the first long window to after the last end: every row has weather.
  const weather = [
    ...generateWeather({ stations: stationsOf(points), startS: tStart - 15 * 60, durationS: (minutes + 20) * 60, intervalS: 90, seed }),
  ];

  const firstEnd = (Math.floor((tStart - GRACE_S) / ADVANCE_S) + 1) * ADVANCE_S;
  const lastEnd = Math.floor((tEnd - GRACE_S) / ADVANCE_S) * ADVANCE_S;
  const expectedKeys = new Set<string>();
  for (let end = firstEnd; end <= lastEnd; end += ADVANCE_S) for (const p of points) expectedKeys.add(rowKey(p.pointId, end));
  return { options, points, pointsCsv: roadPointsCsv(points), partitions, tStart, tEnd, anchors, events, records, weather, firstEnd, lastEnd, expectedKeys };
}

/** Records of partition p, per partition: what the car topic must hold after production. */
export function recordsPerPartition(records: readonly TimedRecord[], partitions: number): number[] {
  const counts = new Array<number>(partitions).fill(0);
  for (const r of records) counts[r.partition]!++;
  return counts;
}

export function weatherRecords(d: ChaosDataset): { key: string; value: string }[] {
  return d.weather.map((r) => ({ key: r.station, value: weatherJson(r) }));
}

/**
 * `count` well-formed loop events whose point_ids are not in the road table (UNKNOWN_POINT_ID),
 * keyed by those ids (so spread over the partitions), times inside the dataset's span.
 */
export function unknownPointRecords(d: ChaosDataset, count: number): TimedRecord[] {
  const span = d.tEnd - d.tStart;
  const out: TimedRecord[] = [];
  for (let i = 0; i < count; i++) {
    const id = `UNKNOWN-${String(i).padStart(6, '0')}`;
    const t = d.tStart + 1 + (i % (span - 2));
    out.push({ t, key: id, value: seedEventJson(anchorEvent(id, t)), partition: keyPartition(id, d.partitions) });
  }
  return out;
}

/** `bytes` of seeded garbage: not JSON (first byte 0xff), not a FlatBuffers LoopEventBatch. */
export function garbage(bytes: number, seed: number): Buffer {
  const rng = mulberry32(seed);
  const buf = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) {
    const word = Math.floor(rng() * 4294967296);
    for (let k = 0; k < 4 && i + k < bytes; k++) buf[i + k] = (word >>> (8 * k)) & 0xff;
  }
  buf[0] = 0xff;
  // A FlatBuffers file identifier ("SRLE") sits at bytes 4..7: zeros there, so it is not one.
  for (let i = 4; i < Math.min(8, bytes); i++) buf[i] = 0x00;
  return buf;
}
